#!/usr/bin/env python3
"""Compiles the parity fixtures (cpu-driver/tests/fixtures/parity/*.cu) to the .ptx files that
are checked in next to them, with NVRTC 13.0 from kernlings' cache (or $KERNLINGS_NVRTC_DIR).

Run it only when a fixture's .cu changes; tests and `kernlings dev parity` read the .ptx and
need no NVRTC. Each .cu is also compiled to a cubin for sm_90 (the lent H200), so ptxas
checks the inline PTX here rather than at load time on the GPU. The `// parity:` lines of the
.cu (launch, inputs, tolerance) are copied to the top of the .ptx, where the harness reads them.

    python3 harness/tools/parity_ptx.py [DIR]
"""
import ctypes
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_DIR = HERE.parent.parent / "cpu-driver/tests/fixtures/parity"
CACHE = pathlib.Path(os.environ.get("KERNLINGS_CACHE",
                                    pathlib.Path.home() / ".cache/kernlings/cuda-13.0"))
LIB_DIR = pathlib.Path(os.environ.get("KERNLINGS_NVRTC_DIR", CACHE / "nvidia/cu13/lib"))
INCLUDE = LIB_DIR.parent / "include"
# compute_80 PTX loads on every GPU the course targets; fmad=false keeps a*b+c two roundings.
PTX_OPTS = ["--gpu-architecture=compute_80", "--fmad=false", f"-I{INCLUDE}"]
CUBIN_OPTS = ["--gpu-architecture=sm_90", "--fmad=false", f"-I{INCLUDE}"]

# NVRTC dlopens its builtins by name: load them first from the same directory.
ctypes.CDLL(str(LIB_DIR / "libnvrtc-builtins.so.13.0"), mode=ctypes.RTLD_GLOBAL)
nvrtc = ctypes.CDLL(str(LIB_DIR / "libnvrtc.so.13"))


def check(code, prog, what):
    if code != 0:
        size = ctypes.c_size_t()
        nvrtc.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        nvrtc.nvrtcGetProgramLog(prog, log)
        sys.exit(f"{what}: NVRTC error {code}\n{log.value.decode()}")


def compile_(src, name, opts, get_size, get):
    prog = ctypes.c_void_p()
    check(nvrtc.nvrtcCreateProgram(ctypes.byref(prog), src.encode(), name.encode(), 0, None,
                                   None), prog, name)
    argv = (ctypes.c_char_p * len(opts))(*[o.encode() for o in opts])
    check(nvrtc.nvrtcCompileProgram(prog, len(opts), argv), prog, f"{name} {opts[0]}")
    size = ctypes.c_size_t()
    get_size(prog, ctypes.byref(size))
    buf = ctypes.create_string_buffer(size.value)
    get(prog, buf)
    nvrtc.nvrtcDestroyProgram(ctypes.byref(prog))
    return buf.raw[: size.value].rstrip(b"\0")


def main():
    directory = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    major, minor = ctypes.c_int(), ctypes.c_int()
    nvrtc.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
    for cu in sorted(directory.glob("*.cu")):
        src = cu.read_text()
        compile_(src, cu.name, CUBIN_OPTS, nvrtc.nvrtcGetCUBINSize, nvrtc.nvrtcGetCUBIN)
        ptx = compile_(src, cu.name, PTX_OPTS, nvrtc.nvrtcGetPTXSize, nvrtc.nvrtcGetPTX).decode()
        header = [line for line in src.splitlines() if line.startswith("// parity:")]
        note = (f"// Generated from {cu.name} by harness/tools/parity_ptx.py "
                f"(NVRTC {major.value}.{minor.value}, {' '.join(PTX_OPTS[:2])}): do not edit.")
        cu.with_suffix(".ptx").write_text("\n".join([note, *header, ptx]))
        print(f"{cu.with_suffix('.ptx')}: {len(ptx.splitlines())} lines")


main()
