#!/usr/bin/env bash
# The closing run on the lent GPU: the instructor gate twice, GPU/CPU output equivalence, a
# learner's verify + report with speed, and a watch session through a crash and a hang.
set -o pipefail
K=$PWD/prebuilt/kernlings; R=$PWD
nvidia-smi --query-gpu=name,driver_version,temperature.gpu --format=csv,noheader
for i in 1 2; do
  $K check-solutions --prebuilt prebuilt/graders > $OUT/cs-final-$i.log 2>&1; echo "check-solutions run $i exit $?"; tail -2 $OUT/cs-final-$i.log
done
S=$(mktemp -d); cp -r curriculum.toml exercises solutions harness $S/; cp -r solutions/* $S/exercises/
cd $S
KERNLINGS_DUMP_OUTPUTS=/tmp/dgpu $K verify --no-speed --seed 42 --backend gpu --prebuilt $R/prebuilt/graders-sol > $OUT/verify-gpu.log 2>&1; echo "verify gpu exit $?"
KERNLINGS_DUMP_OUTPUTS=/tmp/dcpu $K verify --no-speed --seed 42 --backend cpu --prebuilt $R/prebuilt/graders-sol > $OUT/verify-cpu.log 2>&1; echo "verify cpu exit $?"
python3 $R/harness/tools/compare_outputs.py /tmp/dgpu /tmp/dcpu > $OUT/equivalence.txt; echo "compare exit $?"; tail -1 $OUT/equivalence.txt
rm -rf .kernlings; $K verify --prebuilt $R/prebuilt/graders-sol > /dev/null 2>&1; echo "verify with speed exit $?"
$K report > /dev/null 2>&1; sed -n '/## Best speeds/,/## Check-in/p' PROGRESS.md > $OUT/progress-best-speeds.md
cd $R
WAIT_HANG=16 harness/tools/watch_demo.sh $K > $OUT/watch-gpu.log 2>&1; tail -1 $OUT/watch-gpu.log
grep -h "VIOLATION" $OUT/cs-final-*.log | cut -c1-140
