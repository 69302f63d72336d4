#!/usr/bin/env python3
"""Compare the outputs two grading runs dumped (KERNLINGS_DUMP_OUTPUTS), e.g. the GPU's and the
CPU backend's for the same seed: integers must match bit for bit, floats within a relative
error of 1e-4 of the output's magnitude (the order of float atomics and approximate math
instructions may differ between the two). Prints a table; exits 1 if any pair differs."""
import os
import sys

import numpy as np

TYPES = {"float": np.float32, "double": np.float64, "int": np.int32, "unsigned_int": np.uint32}


def main(a_dir, b_dir):
    common = sorted(set(os.listdir(a_dir)) & set(os.listdir(b_dir)))
    only = len(set(os.listdir(a_dir)) ^ set(os.listdir(b_dir)))
    bad = 0
    print(f"{'output (exercise__case__buffer)':70} {'elements':>9} {'bitwise equal':>14} {'max rel err':>12}  verdict")
    for name in common:
        dtype = TYPES[name.rsplit(".", 1)[1]]
        a = np.fromfile(os.path.join(a_dir, name), dtype=dtype)
        b = np.fromfile(os.path.join(b_dir, name), dtype=dtype)
        if a.shape != b.shape:
            verdict, same, rel = "DIFFERENT SIZE", 0, float("nan")
        else:
            width = a.dtype.itemsize
            same = int((a.view(np.uint8).reshape(-1, width) == b.view(np.uint8).reshape(-1, width)).all(axis=1).sum())
            if np.issubdtype(dtype, np.integer):
                rel = 0.0 if same == len(a) else 1.0
                verdict = "bitwise" if same == len(a) else "DIFFERENT"
            else:
                scale = max(float(np.max(np.abs(b.astype(np.float64)))) if len(b) else 0.0, 1e-30)
                rel = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) / scale if len(a) else 0.0
                verdict = "bitwise" if same == len(a) else ("within 1e-4" if rel <= 1e-4 else "DIFFERENT")
        bad += verdict.startswith("DIFFERENT")
        print(f"{name:70} {len(a):>9} {same:>14} {rel:>12.3g}  {verdict}")
    print(f"{len(common)} outputs compared, {bad} different; {only} present in one run only")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
