#!/usr/bin/env bash
# Boots an image under QEMU with a timeout and checks its console.
#
#   boot-test.sh [--expect RE]... [--reject RE]... [--at-most N RE]...
#                [--exit N] [--timeout S] [--log FILE] -- IMAGE [qemu-cmd.sh options]
#
# Passes when QEMU exits with the expected code before the timeout, every
# --expect extended regex matches a line of the log, and no --reject does.
# "PANIC" is always rejected unless expected. --at-most N RE: at most N
# lines match RE (a rate limit holds).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
expects=() rejects=() limits=() want_exit=0 timeout=60 log=
while [[ $# -gt 0 ]]; do
    case $1 in
    --expect) expects+=("$2"); shift 2 ;;
    --reject) rejects+=("$2"); shift 2 ;;
    --at-most) limits+=("$2" "$3"); shift 3 ;;
    --exit) want_exit=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "boot-test: unknown option $1" >&2; exit 2 ;;
    esac
done
if [[ -z $log ]]; then log=$(mktemp); trap 'rm -f "$log"' EXIT; fi
mapfile -t cmd < <("$here/../../scripts/qemu-cmd.sh" "$@")
echo "+ ${cmd[*]}"
timeout --foreground -k 5 "$timeout" "${cmd[@]}" </dev/null >"$log" 2>&1
rc=$?
sed -i "s/\r$//" "$log"  # the console sends CR LF
cat "$log"
echo "----"
failed=0
if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo "FAIL: QEMU did not finish within ${timeout}s"
    failed=1
elif [[ $rc -ne $want_exit ]]; then
    echo "FAIL: QEMU exited with $rc, expected $want_exit"
    failed=1
fi
for re in "${expects[@]}"; do
    if ! grep -qE -- "$re" "$log"; then echo "FAIL: no line matches: $re"; failed=1; fi
done
panic_expected=0
for re in "${expects[@]}"; do [[ $re == *PANIC* ]] && panic_expected=1; done
[[ $panic_expected -eq 0 ]] && rejects+=("PANIC")
for re in "${rejects[@]}"; do
    if grep -qE -- "$re" "$log"; then echo "FAIL: a line matches what must not appear: $re"; grep -E -- "$re" "$log" | head -3; failed=1; fi
done
for ((i = 0; i < ${#limits[@]}; i += 2)); do
    n=$(grep -cE -- "${limits[i+1]}" "$log")
    if [[ $n -gt ${limits[i]} ]]; then echo "FAIL: $n lines match ${limits[i+1]}, at most ${limits[i]} may"; failed=1; fi
done
[[ $failed -eq 0 ]] && echo "PASS"
exit $failed
