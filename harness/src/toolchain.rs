//! Finding what grading needs at run time: a CUDA driver (the real one, or kernlings' CPU
//! driver), NVRTC and its headers.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// The GPU when a working NVIDIA driver is present, else the CPU driver.
    #[default]
    Auto,
    Gpu,
    Cpu,
}
