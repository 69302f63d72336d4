//! A CUDA driver on the CPU: under construction.
