#!/usr/bin/env bash
# A watch session on a scratch copy of the course: the learner's vector_add becomes an
# illegal-address kernel, then an endless loop, then the solution; watch must live through all.
set -u
KL=$1; shift
scratch=$(mktemp -d); cp -r curriculum.toml exercises solutions harness "$scratch"/
cd "$scratch"
mkdir -p .kernlings
echo '{"version":1,"current":"vector_add","exercises":{},"days":{}}' > .kernlings/state.json
{
  sleep 8
  echo "### learner saves an illegal-address kernel" >&2
  cp harness/wrong/vector_add/illegal_address.cu exercises/01_basics/vector_add.cu; sleep 8
  echo "### learner saves an endless loop" >&2
  cp harness/wrong/vector_add/endless_loop.cu exercises/01_basics/vector_add.cu; sleep "$WAIT_HANG"
  echo "### learner saves the solution" >&2
  cp solutions/01_basics/vector_add.cu exercises/01_basics/vector_add.cu; sleep 8
  echo q
} | "$KL" watch "$@" 2>&1
echo "watch exited with status $?"
