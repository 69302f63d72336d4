//! The driver's state behind the C API: device memory, loaded modules, the sticky error.
//! Everything runs synchronously on the calling thread, so streams and events are trivial.

use crate::exec::memory::{DeviceMemory, MemView};
use crate::exec::{self, LaunchParams, DEFAULT_BUDGET};
use crate::ptx::ir::{Function, Module};
use crate::ptx::parse_module;
use crate::report::{self, Dim3, LaunchReport};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

pub struct LoadedModule {
    pub module: Module,
    /// Global and constant variables: (name, device address, size).
    pub globals: Vec<(String, u64, usize)>,
}

impl LoadedModule {
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.module.functions.iter().find(|f| f.name == name)
    }
}

/// Static shared memory one block may declare: beyond it a GPU needs dynamic shared memory
/// and `cudaFuncSetAttribute` (ptxas refuses the kernel).
pub const STATIC_SMEM_LIMIT: usize = 48 * 1024;
/// Local memory one thread may use on a GPU (the CUDA guide's limit).
pub const LOCAL_LIMIT: usize = 512 * 1024;

fn kib(bytes: usize) -> String {
    if bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// What a GPU's compiler refuses at load: too much static shared or local memory.
fn check_static_limits(f: &Function) -> Result<(), String> {
    if f.static_smem > STATIC_SMEM_LIMIT {
        return Err(format!(
            "kernel `{}` uses {} of static shared memory; a block may use at most {} statically \
             (dynamic shared memory with cudaFuncSetAttribute is needed beyond)",
            f.name,
            kib(f.static_smem),
            kib(STATIC_SMEM_LIMIT)
        ));
    }
    if f.local_bytes > LOCAL_LIMIT {
        return Err(format!(
            "kernel `{}` uses {} of local memory per thread (arrays declared inside the kernel); \
             a GPU allows at most {} per thread",
            f.name,
            kib(f.local_bytes),
            kib(LOCAL_LIMIT)
        ));
    }
    Ok(())
}

pub struct Driver {
    pub mem: DeviceMemory,
    /// A failed launch poisons the context, as on a GPU: later calls return the same error.
    sticky: AtomicU32,
}

pub fn driver() -> &'static Driver {
    static D: OnceLock<Driver> = OnceLock::new();
    D.get_or_init(Driver::new)
}

impl Default for Driver {
    fn default() -> Self {
        Self::new()
    }
}

impl Driver {
    pub fn new() -> Driver {
        Driver {
            mem: DeviceMemory::default(),
            sticky: AtomicU32::new(0),
        }
    }

    pub fn sticky(&self) -> u32 {
        self.sticky.load(Ordering::Relaxed)
    }

    pub fn load_module(&self, ptx: &str) -> Result<Arc<LoadedModule>, String> {
        let mut globals = Vec::new();
        let mem = &self.mem;
        let module = parse_module(ptx, &mut |var| {
            let addr = mem.alloc(var.size.max(1));
            mem.with_bytes(addr, var.init.len().min(var.size), |b| {
                b.copy_from_slice(&var.init[..b.len()])
            });
            globals.push((var.name.clone(), addr, var.size));
            addr
        })?;
        for f in &module.functions {
            check_static_limits(f)?;
        }
        Ok(Arc::new(LoadedModule { module, globals }))
    }

    /// Runs a kernel to completion. `params` is the packed parameter buffer.
    pub fn launch(
        &self,
        func: &Function,
        grid: Dim3,
        block: Dim3,
        dyn_smem: usize,
        params: &[u8],
    ) -> LaunchReport {
        let view: MemView = self.mem.view();
        let budget = std::env::var("KERNLINGS_CPU_BUDGET")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_BUDGET);
        let workers = std::env::var("KERNLINGS_CPU_THREADS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let out = exec::launch(&LaunchParams {
            func,
            grid,
            block,
            dyn_smem,
            params,
            mem: &view,
            budget,
            workers,
        });
        let report = LaunchReport {
            kernel: func.name.clone(),
            grid,
            block,
            counters: out.counters,
            diagnostic: out.diagnostic,
        };
        if let Some(d) = &report.diagnostic {
            self.sticky.store(d.cu_result(), Ordering::Relaxed);
        }
        report::append(&report);
        report
    }

    /// Packs cuLaunchKernel's array of argument pointers by the PTX parameter layout.
    ///
    /// # Safety
    /// `args` must hold one valid pointer per kernel parameter, each to at least its size.
    pub unsafe fn pack_params(func: &Function, args: *const *const u8) -> Vec<u8> {
        let mut buf = vec![0u8; func.param_bytes];
        for (i, p) in func.params.iter().enumerate() {
            let src = *args.add(i);
            std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr().add(p.offset), p.size);
        }
        buf
    }
}
