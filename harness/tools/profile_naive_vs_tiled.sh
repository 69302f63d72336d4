#!/usr/bin/env bash
# On a GPU with Nsight Compute: profile the sgemm_naive and sgemm_shared solutions as a
# learner would (`kernlings profile`, ncu on PATH), record them as "naive vs tiled", and show
# the report's profiling section. Usage: harness/tools/profile_naive_vs_tiled.sh [KERNLINGS]
# (default target/release/kernlings). Writes into a scratch copy of the course.
set -euo pipefail
R=$(cd "$(dirname "$0")/../.." && pwd)
K=${1:-$R/target/release/kernlings}
command -v ncu > /dev/null || { echo "ncu is not on PATH (Nsight Compute: CUDA_HOME/bin)"; exit 2; }
S=$(mktemp -d); cp -r "$R"/curriculum.toml "$R"/exercises "$R"/solutions "$R"/harness "$S"/
cd "$S"
for ex in 03_matmul/sgemm1_naive.cu 03_matmul/sgemm3_shared.cu; do cp "solutions/$ex" "exercises/$ex"; done
"$K" profile sgemm_naive --backend gpu --note "naive: one thread per element of C, every operand from global memory"
"$K" profile sgemm_shared --backend gpu --note "tiled: 32x32 tiles of A and B staged in shared memory"
"$K" report > /dev/null
sed -n '/## Profiles/,/## Check-in/p' PROGRESS.md
echo "scratch course: $S (profiles in .kernlings/profiles/)"
