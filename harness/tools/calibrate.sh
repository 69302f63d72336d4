#!/usr/bin/env bash
# The calibration run on a GPU: grades every harness/calibration kernel (and, with it, each
# exercise's solution, stub and known-wrong versions, which check-solutions always grades) and
# prints the calibration table the bars in curriculum.toml are set from.
#
# Carry the release binary as prebuilt/kernlings (GPU.md). Only .cu exercises have
# calibration kernels, so no prebuilt graders are needed. Usage, from the repository root:
#   harness/tools/calibrate.sh [OUTDIR]        (OUTDIR defaults to $OUT, else /tmp)
# Twice in a row by default (CALIB_RUNS), so that noise shows as two ratios per kernel.
set -o pipefail
K=${KERNLINGS:-$PWD/prebuilt/kernlings}
DIR=${1:-${OUT:-/tmp}}
RUNS=${CALIB_RUNS:-2}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
status=0
for run in $(seq 1 "$RUNS"); do
  for m in 02_memory 03_matmul 04_reduction 05_scan_histogram; do
    log=$DIR/calibrate-$m-$run.log
    "$K" check-solutions --backend gpu --module "$m" --json > "$DIR/calibrate-$m-$run.json" 2> "$log.err"
    rc=$?
    [ $rc -ne 0 ] && status=$rc
    # One line per calibration kernel: exercise, kernel, expected, ratio, bar, margin %, ok.
    python3 - "$DIR/calibrate-$m-$run.json" "$run" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
for c in report["calibration"]:
    f = lambda v: "-" if v is None else f"{v:.4g}"
    m = "-" if c["margin_percent"] is None else f"{c['margin_percent']:+.1f}"
    print(f"run {sys.argv[2]} | {c['exercise']:<18} | {c['kernel']:<34} | {c['expected']:<8} | "
          f"{f(c['ratio']):>7} | {f(c['bar']):>6} | {m:>7} | {'ok' if c['ok'] else 'VIOLATION'}")
for r in report["rows"]:
    if not r["ok"] and not r["what"].startswith("calib/"):
        print(f"run {sys.argv[2]} | {r['exercise']} ({r['what']}) VIOLATION: {r['verdict'][:120]}")
for l in report["lint"]:
    print(f"run {sys.argv[2]} | lint: {l}")
PY
  done
done
exit $status
