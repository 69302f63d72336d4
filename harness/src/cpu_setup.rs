//! Setting up the CPU backend: kernlings' own libcuda.so (the PTX interpreter) and a cached
//! NVRTC, so kernels compile and run on a machine with no NVIDIA driver.
