#!/usr/bin/env bash
# Runs passage's libFuzzer fuzzers (tests/fuzz): builds the fuzz preset
# (clang-14, ASan+UBSan; scripts/deps.sh installs clang-14 and
# libclang-rt-14-dev), then runs each fuzzer over its checked-in seeds
# (tests/fuzz/corpus/<name>, plus what tests/fuzz/seeds/<name>.sh generates)
# and new inputs for a while.
#
#   scripts/fuzz.sh [NAME...] [--seconds N | --runs N] [--no-build] [--build-dir DIR]
#
# NAME: a fuzzer (fuzz_NAME); none: all of them. --seconds N bounds each
# run's time, --runs N its number of executions; with both, whichever comes
# first; with neither, 60 seconds.
# stdout: `fuzz_<name>_execs: N` and `fuzz_<name>_findings: K` per fuzzer
# (scripts/bench.sh's format); libFuzzer's own output goes to stderr.
# A finding (crash, leak, timeout, out of memory) is kept in
# <build>/fuzz-findings/<name>/ and makes the script exit 1: fix the bug,
# then copy the input into tests/fuzz/corpus/<name>/ as a regression.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds= runs= build=1 dir=$root/build/fuzz names=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --no-build) build=; shift ;;
    --build-dir) dir=$2; shift 2 ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
    esac
done

if [[ -n $build ]]; then
    ./scripts/deps.sh >&2
    cmake --preset fuzz >&2
    cmake --build --preset fuzz -j"$(nproc)" >&2
fi
if [[ ${#names[@]} -eq 0 ]]; then
    for exe in "$dir"/tests/fuzz/fuzz_*; do [[ -x $exe ]] && names+=("${exe##*/fuzz_}"); done
fi
[[ ${#names[@]} -gt 0 ]] || { echo "fuzz: no fuzzers built in $dir/tests/fuzz" >&2; exit 1; }

status=0
for name in "${names[@]}"; do
    exe=$dir/tests/fuzz/fuzz_$name
    [[ -x $exe ]] || { echo "fuzz: no $exe" >&2; status=1; continue; }
    seeds=$root/tests/fuzz/corpus/$name
    work=$dir/fuzz-work/$name        # new inputs of this run (scratch)
    found=$dir/fuzz-findings/$name   # what crashed, leaked or hung
    generated=$dir/fuzz-seeds/$name  # seeds a script makes (QEMU's device trees ...)
    rm -rf "$work"
    mkdir -p "$work" "$found" "$seeds"
    dirs=("$work" "$seeds")
    if [[ -x $root/tests/fuzz/seeds/$name.sh ]]; then
        if [[ ! -d $generated ]] || [[ -z $(ls -A "$generated") ]]; then
            mkdir -p "$generated"
            "$root/tests/fuzz/seeds/$name.sh" "$generated" >&2
        fi
        dirs+=("$generated")
    fi
    limit=()
    [[ -n $seconds ]] && limit+=(-max_total_time="$seconds")
    [[ -n $runs ]] && limit+=(-runs="$runs")
    [[ ${#limit[@]} -eq 0 ]] && limit=(-max_total_time=60)
    before=$(find "$found" -type f | wc -l)
    echo "== fuzz_$name ${limit[*]}" >&2
    rc=0
    "$exe" "${limit[@]}" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$found/" \
        "${dirs[@]}" >"$dir/fuzz-$name.log" 2>&1 || rc=$?
    tail -n 25 "$dir/fuzz-$name.log" >&2
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz-$name.log" | tail -1)
    after=$(find "$found" -type f | wc -l)
    echo "fuzz_${name}_execs: ${execs:-0}"
    echo "fuzz_${name}_findings: $((after - before))"
    if [[ $rc -ne 0 || $after -ne $before ]]; then
        echo "fuzz: fuzz_$name found something (exit $rc); inputs in $found, log $dir/fuzz-$name.log" >&2
        status=1
    fi
done
exit $status
