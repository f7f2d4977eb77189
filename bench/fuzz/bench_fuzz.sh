#!/usr/bin/env bash
# The fuzzers' long run (issue 15): every fuzzer until 10 million
# executions (the goal) or 10 minutes, whichever comes first, one after
# another, through scripts/fuzz.sh. stdout: fuzz_<name>_execs and
# fuzz_<name>_findings per fuzzer (scripts/bench.sh's format).
#
#   bench/fuzz/bench_fuzz.sh [--runs N] [--seconds-each S]
#
# PASSAGE_FUZZ_SECONDS sets the time bound when run by scripts/bench.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=10000000 seconds=${PASSAGE_FUZZ_SECONDS:-600}
while [[ $# -gt 0 ]]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --seconds-each) seconds=$2; shift 2 ;;
    *) echo "bench_fuzz: unknown option $1" >&2; exit 2 ;;
    esac
done
exec "$root/scripts/fuzz.sh" --runs "$runs" --seconds "$seconds"
