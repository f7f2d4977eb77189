#!/usr/bin/env bash
# Builds the `bench` preset (Release, no sanitizers) and runs every benchmark
# of the project: each executable named bench_* under build/bench/bench/.
# stdout gets only figures, one `name: value` line each:
#   - every `name: value` line a benchmark prints on its stdout, as is;
#   - for executables built on Google Benchmark, every user counter in its
#     JSON output, as `<executable>.<benchmark>.<counter>: value`.
# Build logs and the benchmarks' own tables go to stderr.
# Then every bench/*/bench_*.sh script (benchmarks of the real image under
# QEMU), whose `name: value` lines go to stdout the same way.
# Usage: ./scripts/bench.sh [filter]   (filter: a substring of the executable name)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
filter=${1:-}
build=build/bench

cmake --preset bench >&2
# Build only the benchmark targets (and what they need), not the whole tree.
targets=$(cmake --build "$build" --target help 2>/dev/null | grep -o 'bench_[A-Za-z0-9_]*' | sort -u || true)
if [ -n "$targets" ]; then
    cmake --build "$build" -j"$(nproc)" --target $targets >&2
else
    cmake --build "$build" -j"$(nproc)" >&2
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
while IFS= read -r exe; do
    name=$(basename "$exe")
    case "$name" in *"$filter"*) ;; *) continue ;; esac
    echo "== $name" >&2
    args=()
    if ldd "$exe" 2>/dev/null | grep -q libbenchmark || grep -qa benchmark_out_format "$exe"; then
        args=(--benchmark_out="$out/$name.json" --benchmark_out_format=json)
    fi
    if ! "$exe" "${args[@]}" >"$out/$name.txt" 2>"$out/$name.err"; then
        echo "$name failed:" >&2
        status=1
    fi
    cat "$out/$name.err" >&2
    grep -E '^[A-Za-z0-9_.]+: ' "$out/$name.txt" || true
    if [ -s "$out/$name.json" ] && command -v python3 >/dev/null; then
        python3 - "$out/$name.json" "$name" <<'PY'
import json, sys
fixed = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
         "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
         "time_unit", "aggregate_name", "aggregate_unit", "error_occurred", "error_message", "label"}
for b in json.load(open(sys.argv[1])).get("benchmarks", []):
    for k, v in b.items():
        if k not in fixed and isinstance(v, (int, float)):
            print(f"{sys.argv[2]}.{b['name']}.{k}: {v:.6g}")
PY
    fi
done < <(find "$build/bench" -type f -name 'bench_*' -perm -u+x | sort)

# Benchmarks of the real image under QEMU: scripts named bench/*/bench_*.sh
# (the guest trap path with -icount, Linux boot time passage vs bare, and
# the Linux boot in instructions under -icount, passage vs bare). Each
# builds what it needs and prints `name: value` lines.
while IFS= read -r script; do
    name=$(basename "$script" .sh)
    case "$name" in *"$filter"*) ;; *) continue ;; esac
    echo "== $name" >&2
    if ! "$script" >"$out/$name.txt"; then
        echo "$name failed" >&2
        status=1
    fi
    grep -E '^[A-Za-z0-9_.]+: ' "$out/$name.txt" || true
done < <(find bench -mindepth 2 -maxdepth 2 -type f -name 'bench_*.sh' | sort)
exit $status
