//! The CUDA driver API as cudarc calls it (`dlopen("libcuda.so")`, symbols resolved at call
//! time). One device, one primary context; all work runs synchronously when it is issued, so
//! streams and events only need to exist and events to remember when they were recorded.
#![allow(non_snake_case, clippy::missing_safety_doc)]

use crate::driver::{driver, LoadedModule};
use crate::ptx::ir::Function;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::sync::Arc;
use std::time::Instant;

type CUresult = u32;
const SUCCESS: CUresult = 0;
const INVALID_VALUE: CUresult = 1;
const OUT_OF_MEMORY: CUresult = 2;
const INVALID_DEVICE: CUresult = 101;
const INVALID_IMAGE: CUresult = 200;
const INVALID_PTX: CUresult = 218;
const NOT_FOUND: CUresult = 500;
const INVALID_HANDLE: CUresult = 400;
const NOT_SUPPORTED: CUresult = 801;
const LAUNCH_FAILED: CUresult = 719;

/// The one context handle; cudarc only compares it and passes it back.
const CONTEXT: *mut c_void = 0x1000 as *mut c_void;
const DEVICE_NAME: &str = "kernlings CPU driver (PTX interpreter)";

/// Fails with the sticky error when an earlier launch failed, like a GPU context does.
macro_rules! check_sticky {
    () => {
        let s = driver().sticky();
        if s != SUCCESS {
            return s;
        }
    };
}

macro_rules! out {
    ($p:expr, $v:expr) => {
        if $p.is_null() {
            return INVALID_VALUE;
        }
        *$p = $v;
    };
}

pub struct FunctionHandle {
    module: Arc<LoadedModule>,
    index: usize,
}

impl FunctionHandle {
    fn func(&self) -> &Function {
        &self.module.module.functions[self.index]
    }
}

struct Event {
    at: Option<Instant>,
}

#[no_mangle]
pub extern "C" fn cuInit(_flags: c_uint) -> CUresult {
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuDriverGetVersion(v: *mut c_int) -> CUresult {
    out!(v, 13000);
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceGetCount(n: *mut c_int) -> CUresult {
    out!(n, 1);
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceGet(dev: *mut c_int, ordinal: c_int) -> CUresult {
    if ordinal != 0 {
        return INVALID_DEVICE;
    }
    out!(dev, 0);
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceGetName(name: *mut c_char, len: c_int, _dev: c_int) -> CUresult {
    if name.is_null() || len <= 0 {
        return INVALID_VALUE;
    }
    let bytes = DEVICE_NAME.as_bytes();
    let n = bytes.len().min(len as usize - 1);
    std::ptr::copy_nonoverlapping(bytes.as_ptr(), name as *mut u8, n);
    *name.add(n) = 0;
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceGetUuid(uuid: *mut [u8; 16], _dev: c_int) -> CUresult {
    out!(uuid, *b"kernlings-cpu-00");
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceGetUuid_v2(uuid: *mut [u8; 16], dev: c_int) -> CUresult {
    cuDeviceGetUuid(uuid, dev)
}

fn cores() -> i32 {
    crate::exec::sm_count() as i32
}

/// Attributes of an sm_90-like device, so kernels compile for the same arch on both backends.
fn attribute(a: c_int) -> Option<c_int> {
    Some(match a {
        1 => 1024,             // MAX_THREADS_PER_BLOCK
        2 | 3 => 1024,         // MAX_BLOCK_DIM_X/Y
        4 => 64,               // MAX_BLOCK_DIM_Z
        5 => i32::MAX,         // MAX_GRID_DIM_X
        6 | 7 => 65535,        // MAX_GRID_DIM_Y/Z
        8 => 48 * 1024,        // MAX_SHARED_MEMORY_PER_BLOCK
        9 => 64 * 1024,        // TOTAL_CONSTANT_MEMORY
        10 => 32,              // WARP_SIZE
        11 => i32::MAX,        // MAX_PITCH
        12 | 82 => 65536,      // registers per block / per SM
        13 => 1_000_000,       // CLOCK_RATE (kHz)
        14 => 512,             // TEXTURE_ALIGNMENT
        16 => cores(),         // MULTIPROCESSOR_COUNT: one "SM" per core
        36 => 1_000_000,       // MEMORY_CLOCK_RATE
        37 => 64,              // GLOBAL_MEMORY_BUS_WIDTH
        38 => 4 * 1024 * 1024, // L2_CACHE_SIZE
        39 => 2048,            // MAX_THREADS_PER_MULTIPROCESSOR
        41 => 1,               // UNIFIED_ADDRESSING
        75 => 9,               // COMPUTE_CAPABILITY_MAJOR
        76 => 0,               // COMPUTE_CAPABILITY_MINOR
        81 => 228 * 1024,      // MAX_SHARED_MEMORY_PER_MULTIPROCESSOR
        97 => 227 * 1024,      // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
        106 => 32,             // MAX_BLOCKS_PER_MULTIPROCESSOR
        115 => 0, // MEMORY_POOLS_SUPPORTED: none, so cudarc uses cuMemAlloc, not cuMemAllocAsync
        _ => 0,
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceGetAttribute(
    v: *mut c_int,
    attrib: c_int,
    _dev: c_int,
) -> CUresult {
    match attribute(attrib) {
        Some(a) => {
            out!(v, a);
            SUCCESS
        }
        None => INVALID_VALUE,
    }
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceTotalMem_v2(bytes: *mut usize, _dev: c_int) -> CUresult {
    out!(bytes, 8 << 30);
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuMemGetInfo_v2(free: *mut usize, total: *mut usize) -> CUresult {
    let used = driver().mem.total();
    out!(free, (8usize << 30).saturating_sub(used));
    out!(total, 8 << 30);
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuDevicePrimaryCtxRetain(ctx: *mut *mut c_void, _dev: c_int) -> CUresult {
    out!(ctx, CONTEXT);
    SUCCESS
}

#[no_mangle]
pub extern "C" fn cuDevicePrimaryCtxRelease_v2(_dev: c_int) -> CUresult {
    SUCCESS
}

#[no_mangle]
pub extern "C" fn cuDevicePrimaryCtxReset_v2(_dev: c_int) -> CUresult {
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuCtxCreate_v2(
    ctx: *mut *mut c_void,
    _flags: c_uint,
    _dev: c_int,
) -> CUresult {
    out!(ctx, CONTEXT);
    SUCCESS
}

#[no_mangle]
pub extern "C" fn cuCtxDestroy_v2(_ctx: *mut c_void) -> CUresult {
    SUCCESS
}

#[no_mangle]
pub extern "C" fn cuCtxSetCurrent(_ctx: *mut c_void) -> CUresult {
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuCtxGetCurrent(ctx: *mut *mut c_void) -> CUresult {
    out!(ctx, CONTEXT);
    SUCCESS
}

#[no_mangle]
pub extern "C" fn cuCtxPushCurrent_v2(_ctx: *mut c_void) -> CUresult {
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuCtxPopCurrent_v2(ctx: *mut *mut c_void) -> CUresult {
    if !ctx.is_null() {
        *ctx = CONTEXT;
    }
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuCtxGetDevice(dev: *mut c_int) -> CUresult {
    out!(dev, 0);
    SUCCESS
}

#[no_mangle]
pub extern "C" fn cuCtxSynchronize() -> CUresult {
    driver().sticky()
}

#[no_mangle]
pub extern "C" fn cuCtxSetFlags(_flags: c_uint) -> CUresult {
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuCtxGetLimit(v: *mut usize, _limit: c_int) -> CUresult {
    out!(v, 0);
    SUCCESS
}

#[no_mangle]
pub extern "C" fn cuCtxSetLimit(_limit: c_int, _v: usize) -> CUresult {
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuCtxGetCacheConfig(v: *mut c_int) -> CUresult {
    out!(v, 0);
    SUCCESS
}

#[no_mangle]
pub extern "C" fn cuCtxSetCacheConfig(_v: c_int) -> CUresult {
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuCtxGetStreamPriorityRange(
    least: *mut c_int,
    greatest: *mut c_int,
) -> CUresult {
    if !least.is_null() {
        *least = 0;
    }
    if !greatest.is_null() {
        *greatest = 0;
    }
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuMemAlloc_v2(dptr: *mut u64, bytes: usize) -> CUresult {
    check_sticky!();
    if bytes > (16usize << 30) {
        return OUT_OF_MEMORY;
    }
    out!(dptr, driver().mem.alloc(bytes));
    SUCCESS
}

#[no_mangle]
pub extern "C" fn cuMemAllocAsync(
    _dptr: *mut u64,
    _bytes: usize,
    _stream: *mut c_void,
) -> CUresult {
    NOT_SUPPORTED
}

#[no_mangle]
pub extern "C" fn cuMemFree_v2(dptr: u64) -> CUresult {
    if driver().mem.free(dptr) || dptr == 0 {
        SUCCESS
    } else {
        INVALID_VALUE
    }
}

/// kernlings' own entry point (no CUDA function): forbid kernels a range inside an allocation,
/// e.g. the guard zones around a grader's buffer, so an access there is an out-of-bounds
/// error naming the thread. The grader looks it up with dlsym and calls it on the CPU only.
#[no_mangle]
pub extern "C" fn kernlingsMemProtect(dptr: u64, bytes: usize) -> CUresult {
    if driver().mem.protect(dptr, bytes as u64) {
        SUCCESS
    } else {
        INVALID_VALUE
    }
}

/// kernlings' own entry point: let kernels read `[dptr, dptr+bytes)` but not write it (the
/// grader's input buffers), so the first store there stops the launch naming the thread.
#[no_mangle]
pub extern "C" fn kernlingsMemProtectReadOnly(dptr: u64, bytes: usize) -> CUresult {
    if driver().mem.protect_readonly(dptr, bytes as u64) {
        SUCCESS
    } else {
        INVALID_VALUE
    }
}

#[no_mangle]
pub extern "C" fn cuMemFreeAsync(dptr: u64, _stream: *mut c_void) -> CUresult {
    cuMemFree_v2(dptr)
}

/// Pinned host memory is ordinary memory here; a header keeps the size for the free.
#[no_mangle]
pub unsafe extern "C" fn cuMemHostAlloc(
    pp: *mut *mut c_void,
    bytes: usize,
    _flags: c_uint,
) -> CUresult {
    let layout = match std::alloc::Layout::from_size_align(bytes.max(1) + 64, 64) {
        Ok(l) => l,
        Err(_) => return OUT_OF_MEMORY,
    };
    let p = std::alloc::alloc_zeroed(layout);
    if p.is_null() {
        return OUT_OF_MEMORY;
    }
    *(p as *mut usize) = bytes.max(1) + 64;
    out!(pp, p.add(64) as *mut c_void);
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuMemAllocHost_v2(pp: *mut *mut c_void, bytes: usize) -> CUresult {
    cuMemHostAlloc(pp, bytes, 0)
}

#[no_mangle]
pub unsafe extern "C" fn cuMemFreeHost(p: *mut c_void) -> CUresult {
    if p.is_null() {
        return SUCCESS;
    }
    let base = (p as *mut u8).sub(64);
    let size = *(base as *const usize);
    std::alloc::dealloc(
        base,
        std::alloc::Layout::from_size_align_unchecked(size, 64),
    );
    SUCCESS
}

unsafe fn htod(dst: u64, src: *const c_void, n: usize) -> CUresult {
    check_sticky!();
    if n == 0 {
        return SUCCESS;
    }
    let s = std::slice::from_raw_parts(src as *const u8, n);
    match driver().mem.with_bytes(dst, n, |d| d.copy_from_slice(s)) {
        Some(()) => SUCCESS,
        None => INVALID_VALUE,
    }
}

unsafe fn dtoh(dst: *mut c_void, src: u64, n: usize) -> CUresult {
    check_sticky!();
    if n == 0 {
        return SUCCESS;
    }
    let d = std::slice::from_raw_parts_mut(dst as *mut u8, n);
    match driver().mem.with_bytes(src, n, |s| d.copy_from_slice(s)) {
        Some(()) => SUCCESS,
        None => INVALID_VALUE,
    }
}

fn dtod(dst: u64, src: u64, n: usize) -> CUresult {
    check_sticky!();
    if n == 0 {
        return SUCCESS;
    }
    let mem = &driver().mem;
    let Some(tmp) = mem.with_bytes(src, n, |s| s.to_vec()) else {
        return INVALID_VALUE;
    };
    match mem.with_bytes(dst, n, |d| d.copy_from_slice(&tmp)) {
        Some(()) => SUCCESS,
        None => INVALID_VALUE,
    }
}

#[no_mangle]
pub unsafe extern "C" fn cuMemcpyHtoD_v2(dst: u64, src: *const c_void, n: usize) -> CUresult {
    htod(dst, src, n)
}

#[no_mangle]
pub unsafe extern "C" fn cuMemcpyHtoDAsync_v2(
    dst: u64,
    src: *const c_void,
    n: usize,
    _s: *mut c_void,
) -> CUresult {
    htod(dst, src, n)
}

#[no_mangle]
pub unsafe extern "C" fn cuMemcpyDtoH_v2(dst: *mut c_void, src: u64, n: usize) -> CUresult {
    dtoh(dst, src, n)
}

#[no_mangle]
pub unsafe extern "C" fn cuMemcpyDtoHAsync_v2(
    dst: *mut c_void,
    src: u64,
    n: usize,
    _s: *mut c_void,
) -> CUresult {
    dtoh(dst, src, n)
}

#[no_mangle]
pub extern "C" fn cuMemcpyDtoD_v2(dst: u64, src: u64, n: usize) -> CUresult {
    dtod(dst, src, n)
}

#[no_mangle]
pub extern "C" fn cuMemcpyDtoDAsync_v2(dst: u64, src: u64, n: usize, _s: *mut c_void) -> CUresult {
    dtod(dst, src, n)
}

/// Unified addressing: device addresses and host pointers never overlap, so the direction
/// follows from which side each pointer is on.
#[no_mangle]
pub unsafe extern "C" fn cuMemcpy(dst: u64, src: u64, n: usize) -> CUresult {
    let mem = &driver().mem;
    let is_dev = |a: u64| mem.with_bytes(a, 0, |_| ()).is_some();
    match (is_dev(dst), is_dev(src)) {
        (true, true) => dtod(dst, src, n),
        (true, false) => htod(dst, src as *const c_void, n),
        (false, true) => dtoh(dst as *mut c_void, src, n),
        (false, false) => {
            std::ptr::copy(src as *const u8, dst as *mut u8, n);
            SUCCESS
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn cuMemcpyAsync(dst: u64, src: u64, n: usize, _s: *mut c_void) -> CUresult {
    cuMemcpy(dst, src, n)
}

fn memset(dst: u64, pattern: &[u8], count: usize) -> CUresult {
    check_sticky!();
    let n = pattern.len() * count;
    if n == 0 {
        return SUCCESS;
    }
    let r = driver().mem.with_bytes(dst, n, |d| {
        for c in d.chunks_mut(pattern.len()) {
            c.copy_from_slice(pattern);
        }
    });
    if r.is_some() {
        SUCCESS
    } else {
        INVALID_VALUE
    }
}

#[no_mangle]
pub extern "C" fn cuMemsetD8_v2(dst: u64, v: u8, n: usize) -> CUresult {
    memset(dst, &[v], n)
}

#[no_mangle]
pub extern "C" fn cuMemsetD8Async(dst: u64, v: u8, n: usize, _s: *mut c_void) -> CUresult {
    memset(dst, &[v], n)
}

#[no_mangle]
pub extern "C" fn cuMemsetD16_v2(dst: u64, v: u16, n: usize) -> CUresult {
    memset(dst, &v.to_le_bytes(), n)
}

#[no_mangle]
pub extern "C" fn cuMemsetD16Async(dst: u64, v: u16, n: usize, _s: *mut c_void) -> CUresult {
    memset(dst, &v.to_le_bytes(), n)
}

#[no_mangle]
pub extern "C" fn cuMemsetD32_v2(dst: u64, v: u32, n: usize) -> CUresult {
    memset(dst, &v.to_le_bytes(), n)
}

#[no_mangle]
pub extern "C" fn cuMemsetD32Async(dst: u64, v: u32, n: usize, _s: *mut c_void) -> CUresult {
    memset(dst, &v.to_le_bytes(), n)
}

#[no_mangle]
pub unsafe extern "C" fn cuModuleLoadData(
    module: *mut *mut c_void,
    image: *const c_void,
) -> CUresult {
    check_sticky!();
    if image.is_null() {
        return INVALID_VALUE;
    }
    let text = match CStr::from_ptr(image as *const c_char).to_str() {
        Ok(t) => t,
        Err(_) => return INVALID_IMAGE,
    };
    // Inline asm() reaches the parser unchecked: a parser panic must not unwind across the C
    // boundary (that aborts the process), so it becomes a load error like any bad PTX.
    match std::panic::catch_unwind(|| driver().load_module(text)) {
        Ok(Ok(m)) => {
            out!(module, Box::into_raw(Box::new(m)) as *mut c_void);
            SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("kernlings CPU driver: cannot load PTX: {e}");
            crate::report::append_load_error(&e);
            INVALID_PTX
        }
        Err(_) => {
            let e = "the PTX parser failed on this module";
            eprintln!("kernlings CPU driver: {e}");
            crate::report::append_load_error(e);
            INVALID_PTX
        }
    }
}

/// `Ptx::from_file`: the PTX text from a file.
#[no_mangle]
pub unsafe extern "C" fn cuModuleLoad(module: *mut *mut c_void, fname: *const c_char) -> CUresult {
    if fname.is_null() {
        return INVALID_VALUE;
    }
    let path = CStr::from_ptr(fname).to_string_lossy().into_owned();
    match std::fs::read(&path) {
        Ok(mut bytes) => {
            bytes.push(0);
            cuModuleLoadData(module, bytes.as_ptr() as *const c_void)
        }
        Err(e) => {
            eprintln!("kernlings CPU driver: cannot read {path}: {e}");
            NOT_FOUND
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn cuModuleLoadDataEx(
    module: *mut *mut c_void,
    image: *const c_void,
    _n: c_uint,
    _opts: *mut c_int,
    _vals: *mut *mut c_void,
) -> CUresult {
    cuModuleLoadData(module, image)
}

#[no_mangle]
pub unsafe extern "C" fn cuModuleUnload(module: *mut c_void) -> CUresult {
    if module.is_null() {
        return INVALID_HANDLE;
    }
    let m = Box::from_raw(module as *mut Arc<LoadedModule>);
    for (_, addr, _) in &m.globals {
        driver().mem.free(*addr);
    }
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuModuleGetFunction(
    f: *mut *mut c_void,
    module: *mut c_void,
    name: *const c_char,
) -> CUresult {
    if module.is_null() || name.is_null() {
        return INVALID_VALUE;
    }
    let m = &*(module as *const Arc<LoadedModule>);
    let name = CStr::from_ptr(name).to_string_lossy();
    match m.module.functions.iter().position(|f| f.name == name) {
        Some(index) => {
            let h = FunctionHandle {
                module: m.clone(),
                index,
            };
            out!(f, Box::into_raw(Box::new(h)) as *mut c_void);
            SUCCESS
        }
        None => NOT_FOUND,
    }
}

#[no_mangle]
pub unsafe extern "C" fn cuModuleGetGlobal_v2(
    dptr: *mut u64,
    bytes: *mut usize,
    module: *mut c_void,
    name: *const c_char,
) -> CUresult {
    if module.is_null() || name.is_null() {
        return INVALID_VALUE;
    }
    let m = &*(module as *const Arc<LoadedModule>);
    let name = CStr::from_ptr(name).to_string_lossy();
    match m.globals.iter().find(|g| g.0 == name) {
        Some((_, addr, size)) => {
            if !dptr.is_null() {
                *dptr = *addr;
            }
            if !bytes.is_null() {
                *bytes = *size;
            }
            SUCCESS
        }
        None => NOT_FOUND,
    }
}

#[no_mangle]
pub unsafe extern "C" fn cuFuncGetAttribute(
    v: *mut c_int,
    attrib: c_int,
    f: *mut c_void,
) -> CUresult {
    if f.is_null() {
        return INVALID_HANDLE;
    }
    let func = (*(f as *const FunctionHandle)).func();
    let a = match attrib {
        0 => 1024,
        1 => func.static_smem as c_int,
        3 => func.local_bytes as c_int,
        4 => (func.num_regs as c_int).min(255),
        5 | 6 => 90,
        8 => (227 * 1024 as c_int).saturating_sub(func.static_smem as c_int),
        _ => 0,
    };
    out!(v, a);
    SUCCESS
}

#[no_mangle]
pub extern "C" fn cuFuncSetAttribute(_f: *mut c_void, _attrib: c_int, _v: c_int) -> CUresult {
    SUCCESS
}

#[no_mangle]
pub extern "C" fn cuFuncSetCacheConfig(_f: *mut c_void, _c: c_int) -> CUresult {
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuLaunchKernel(
    f: *mut c_void,
    gx: c_uint,
    gy: c_uint,
    gz: c_uint,
    bx: c_uint,
    by: c_uint,
    bz: c_uint,
    smem: c_uint,
    _stream: *mut c_void,
    params: *mut *mut c_void,
    extra: *mut *mut c_void,
) -> CUresult {
    check_sticky!();
    if f.is_null() {
        return INVALID_HANDLE;
    }
    if !extra.is_null() {
        return NOT_SUPPORTED;
    }
    let nthreads = bx as u64 * by as u64 * bz as u64;
    if nthreads == 0
        || nthreads > 1024
        || bz > 64
        || gx == 0
        || gy == 0
        || gz == 0
        || gy > 65535
        || gz > 65535
    {
        return INVALID_VALUE;
    }
    let func = (*(f as *const FunctionHandle)).func();
    if func.static_smem + smem as usize > 227 * 1024 {
        return INVALID_VALUE;
    }
    if params.is_null() && !func.params.is_empty() {
        return INVALID_VALUE;
    }
    let buf = crate::driver::Driver::pack_params(func, params as *const *const u8);
    // A bug in the interpreter must fail this launch, not abort the learner's process.
    let launch = std::panic::catch_unwind(|| {
        driver().launch(func, [gx, gy, gz], [bx, by, bz], smem as usize, &buf)
    });
    match launch {
        Ok(report) => match report.diagnostic {
            Some(d) => d.cu_result(),
            None => SUCCESS,
        },
        Err(_) => {
            eprintln!(
                "kernlings CPU driver: internal error while running `{}`",
                func.name
            );
            LAUNCH_FAILED
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn cuLaunchCooperativeKernel(
    f: *mut c_void,
    gx: c_uint,
    gy: c_uint,
    gz: c_uint,
    bx: c_uint,
    by: c_uint,
    bz: c_uint,
    smem: c_uint,
    stream: *mut c_void,
    params: *mut *mut c_void,
) -> CUresult {
    cuLaunchKernel(
        f,
        gx,
        gy,
        gz,
        bx,
        by,
        bz,
        smem,
        stream,
        params,
        std::ptr::null_mut(),
    )
}

/// Host functions run at once: everything before them in the stream has already finished.
#[no_mangle]
pub unsafe extern "C" fn cuLaunchHostFunc(
    _stream: *mut c_void,
    f: Option<unsafe extern "C" fn(*mut c_void)>,
    data: *mut c_void,
) -> CUresult {
    check_sticky!();
    if let Some(f) = f {
        f(data);
    }
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuStreamCreate(s: *mut *mut c_void, _flags: c_uint) -> CUresult {
    out!(s, Box::into_raw(Box::new(0u8)) as *mut c_void);
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuStreamCreateWithPriority(
    s: *mut *mut c_void,
    flags: c_uint,
    _p: c_int,
) -> CUresult {
    cuStreamCreate(s, flags)
}

#[no_mangle]
pub unsafe extern "C" fn cuStreamDestroy_v2(s: *mut c_void) -> CUresult {
    if !s.is_null() {
        drop(Box::from_raw(s as *mut u8));
    }
    SUCCESS
}

#[no_mangle]
pub extern "C" fn cuStreamSynchronize(_s: *mut c_void) -> CUresult {
    driver().sticky()
}

#[no_mangle]
pub extern "C" fn cuStreamQuery(_s: *mut c_void) -> CUresult {
    driver().sticky()
}

#[no_mangle]
pub extern "C" fn cuStreamWaitEvent(_s: *mut c_void, _e: *mut c_void, _flags: c_uint) -> CUresult {
    driver().sticky()
}

#[no_mangle]
pub unsafe extern "C" fn cuStreamIsCapturing(_s: *mut c_void, status: *mut c_int) -> CUresult {
    out!(status, 0);
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuEventCreate(e: *mut *mut c_void, _flags: c_uint) -> CUresult {
    out!(
        e,
        Box::into_raw(Box::new(Event { at: None })) as *mut c_void
    );
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuEventRecord(e: *mut c_void, _s: *mut c_void) -> CUresult {
    check_sticky!();
    if e.is_null() {
        return INVALID_HANDLE;
    }
    (*(e as *mut Event)).at = Some(Instant::now());
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuEventRecordWithFlags(
    e: *mut c_void,
    s: *mut c_void,
    _flags: c_uint,
) -> CUresult {
    cuEventRecord(e, s)
}

#[no_mangle]
pub extern "C" fn cuEventSynchronize(_e: *mut c_void) -> CUresult {
    driver().sticky()
}

#[no_mangle]
pub extern "C" fn cuEventQuery(_e: *mut c_void) -> CUresult {
    driver().sticky()
}

#[no_mangle]
pub unsafe extern "C" fn cuEventElapsedTime(
    ms: *mut f32,
    start: *mut c_void,
    end: *mut c_void,
) -> CUresult {
    check_sticky!();
    if start.is_null() || end.is_null() {
        return INVALID_HANDLE;
    }
    match ((*(start as *const Event)).at, (*(end as *const Event)).at) {
        (Some(a), Some(b)) => {
            out!(ms, b.saturating_duration_since(a).as_secs_f32() * 1000.0);
            SUCCESS
        }
        _ => INVALID_HANDLE,
    }
}

#[no_mangle]
pub unsafe extern "C" fn cuEventElapsedTime_v2(
    ms: *mut f32,
    start: *mut c_void,
    end: *mut c_void,
) -> CUresult {
    cuEventElapsedTime(ms, start, end)
}

#[no_mangle]
pub unsafe extern "C" fn cuEventDestroy_v2(e: *mut c_void) -> CUresult {
    if !e.is_null() {
        drop(Box::from_raw(e as *mut Event));
    }
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuOccupancyMaxActiveBlocksPerMultiprocessor(
    n: *mut c_int,
    _f: *mut c_void,
    block: c_int,
    _smem: usize,
) -> CUresult {
    out!(n, (2048 / block.max(1)).clamp(1, 32));
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(
    n: *mut c_int,
    f: *mut c_void,
    block: c_int,
    smem: usize,
    _flags: c_uint,
) -> CUresult {
    cuOccupancyMaxActiveBlocksPerMultiprocessor(n, f, block, smem)
}

fn error_text(e: CUresult) -> Option<(&'static CStr, &'static CStr)> {
    Some(match e {
        0 => (c"CUDA_SUCCESS", c"no error"),
        1 => (c"CUDA_ERROR_INVALID_VALUE", c"invalid argument"),
        2 => (c"CUDA_ERROR_OUT_OF_MEMORY", c"out of memory"),
        3 => (c"CUDA_ERROR_NOT_INITIALIZED", c"initialization error"),
        101 => (c"CUDA_ERROR_INVALID_DEVICE", c"invalid device ordinal"),
        200 => (
            c"CUDA_ERROR_INVALID_IMAGE",
            c"device kernel image is invalid",
        ),
        218 => (c"CUDA_ERROR_INVALID_PTX", c"a PTX JIT compilation failed"),
        222 => (
            c"CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
            c"the kernel uses an instruction the CPU driver does not support",
        ),
        400 => (c"CUDA_ERROR_INVALID_HANDLE", c"invalid resource handle"),
        500 => (c"CUDA_ERROR_NOT_FOUND", c"named symbol not found"),
        600 => (c"CUDA_ERROR_NOT_READY", c"device not ready"),
        700 => (
            c"CUDA_ERROR_ILLEGAL_ADDRESS",
            c"an illegal memory access was encountered",
        ),
        702 => (
            c"CUDA_ERROR_LAUNCH_TIMEOUT",
            c"the launch timed out and was terminated",
        ),
        710 => (c"CUDA_ERROR_ASSERT", c"device-side assert triggered"),
        716 => (c"CUDA_ERROR_MISALIGNED_ADDRESS", c"misaligned address"),
        719 => (c"CUDA_ERROR_LAUNCH_FAILED", c"unspecified launch failure"),
        801 => (c"CUDA_ERROR_NOT_SUPPORTED", c"operation not supported"),
        _ => return None,
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuGetErrorName(e: CUresult, s: *mut *const c_char) -> CUresult {
    match error_text(e) {
        Some((name, _)) => {
            out!(s, name.as_ptr());
            SUCCESS
        }
        None => INVALID_VALUE,
    }
}

#[no_mangle]
pub unsafe extern "C" fn cuGetErrorString(e: CUresult, s: *mut *const c_char) -> CUresult {
    match error_text(e) {
        Some((_, text)) => {
            out!(s, text.as_ptr());
            SUCCESS
        }
        None => INVALID_VALUE,
    }
}

/// NVRTC itself dlopens libcuda.so.1 and asks for the driver's private export tables; without
/// this symbol it crashes. Saying "not found" makes it carry on as with no driver at all.
#[no_mangle]
pub unsafe extern "C" fn cuGetExportTable(
    table: *mut *const c_void,
    _id: *const c_void,
) -> CUresult {
    if !table.is_null() {
        *table = std::ptr::null();
    }
    NOT_FOUND
}

#[no_mangle]
pub unsafe extern "C" fn cuCtxCreate_v3(
    ctx: *mut *mut c_void,
    _p: *mut c_void,
    _n: c_int,
    _flags: c_uint,
    _dev: c_int,
) -> CUresult {
    out!(ctx, CONTEXT);
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuCtxCreate_v4(
    ctx: *mut *mut c_void,
    _params: *mut c_void,
    _flags: c_uint,
    _dev: c_int,
) -> CUresult {
    out!(ctx, CONTEXT);
    SUCCESS
}

/// A block size that fills one "SM" (one core) well: the answer cudarc's helper asks for.
#[no_mangle]
pub unsafe extern "C" fn cuOccupancyMaxPotentialBlockSize(
    min_grid: *mut c_int,
    block: *mut c_int,
    _f: *mut c_void,
    _smem_fn: *mut c_void,
    _smem: usize,
    limit: c_int,
) -> CUresult {
    let b = if limit > 0 { limit.min(256) } else { 256 };
    out!(block, b);
    out!(min_grid, cores() * (2048 / b));
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuOccupancyMaxPotentialBlockSizeWithFlags(
    min_grid: *mut c_int,
    block: *mut c_int,
    f: *mut c_void,
    smem_fn: *mut c_void,
    smem: usize,
    limit: c_int,
    _flags: c_uint,
) -> CUresult {
    cuOccupancyMaxPotentialBlockSize(min_grid, block, f, smem_fn, smem, limit)
}

#[no_mangle]
pub unsafe extern "C" fn cuOccupancyAvailableDynamicSMemPerBlock(
    bytes: *mut usize,
    f: *mut c_void,
    _blocks: c_int,
    _block: c_int,
) -> CUresult {
    if f.is_null() {
        return INVALID_HANDLE;
    }
    out!(
        bytes,
        (227 * 1024usize).saturating_sub((*(f as *const FunctionHandle)).func().static_smem)
    );
    SUCCESS
}

/// Features the CPU driver does not have answer "not supported" instead of being missing,
/// which would make cudarc panic on the lookup. Returning without reading the arguments is
/// sound for any C signature.
macro_rules! not_supported {
    ($($name:ident),* $(,)?) => {
        $(
            #[no_mangle]
            pub extern "C" fn $name() -> CUresult {
                NOT_SUPPORTED
            }
        )*
    };
}

not_supported!(
    cuDeviceGetDefaultMemPool,
    cuDeviceGetMemPool,
    cuDeviceSetMemPool,
    cuMemPoolCreate,
    cuMemPoolDestroy,
    cuMemPoolGetAttribute,
    cuMemPoolSetAttribute,
    cuMemPoolTrimTo,
    cuMemAllocFromPoolAsync,
    cuMemAllocManaged,
    cuMemAdvise_v2,
    cuMemPrefetchAsync_v2,
    cuStreamAttachMemAsync,
    cuMemcpyPeerAsync,
    cuImportExternalMemory,
    cuExternalMemoryGetMappedBuffer,
    cuDestroyExternalMemory,
    cuStreamBeginCapture_v2,
    cuStreamEndCapture,
    cuGraphInstantiateWithFlags,
    cuGraphLaunch,
    cuGraphUpload,
    cuGraphDestroy,
    cuGraphExecDestroy,
);
