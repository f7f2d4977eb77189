#!/usr/bin/env bash
# Fails, naming the test, if a Catch2 test name in a unit-test binary would be
# split or misread on its way through ctest. catch_discover_tests makes one
# ctest test per name and runs it as `<binary> "<name>"`, so each name must
# survive CMake's lists and Catch2 2.13's test-spec parser as plain text.
# Run by ctest as "names: <binary>" for each unit-test binary.
#
#   scripts/check-test-names.sh <unit-test binary>
set -uo pipefail

binary=${1:?usage: check-test-names.sh <unit-test binary>}
what=$(basename "$binary")

# --list-test-names-only exits with the number of names it listed (at most
# 255), so anything else means the binary did not run properly.
names=$("$binary" --list-test-names-only)
rc=$?
count=$(grep -c . <<<"$names")
if (( rc != (count < 255 ? count : 255) )); then
    echo "$what: --list-test-names-only exited $rc after listing $count names" >&2
    exit 1
fi

# What each character means, from Catch2 2.13's TestSpecParser and
# WildcardPattern, and CMake's list syntax.
problems_of() {
    local name=$1
    [[ $name == *';'* ]] && echo "';' is CMake's list separator: catch_discover_tests splits the name into several ctest tests that match nothing"
    [[ $name == *','* ]] && echo "',' separates alternatives in a Catch2 filter"
    [[ $name == *[\[\]]* ]] && echo "'[' and ']' delimit a tag in a Catch2 filter"
    [[ $name == *'\'* ]] && echo "'\\' escapes the next character in a Catch2 filter"
    # A name that starts with '#' is listed in quotes, so it lands here too.
    [[ $name == *'"'* ]] && echo "'\"' quotes a name in a Catch2 filter"
    [[ $name == '~'* ]] && echo "a leading '~' negates a Catch2 filter"
    [[ $name == exclude:* ]] && echo "a leading 'exclude:' negates a Catch2 filter"
    [[ $name == '*'* || $name == *'*' ]] && echo "a leading or trailing '*' is a wildcard in a Catch2 filter"
    [[ $name == [[:space:]]* || $name == *[[:space:]] ]] && echo "a Catch2 filter drops leading and trailing spaces"
    return 0
}

bad=0
while IFS= read -r name; do
    while IFS= read -r problem; do
        [[ -n $problem ]] || continue
        echo "$what: bad test name \"$name\": $problem" >&2
        bad=1
    done <<<"$(problems_of "$name")"
done <<<"$names"

# Filters match names ignoring case, so two names that differ only in case
# would run together under either ctest test.
while IFS= read -r dup; do
    [[ -n $dup ]] || continue
    echo "$what: test names that differ only in case:" >&2
    grep -ix -F -- "$dup" <<<"$names" | sed 's/^/    /' >&2
    bad=1
done <<<"$(tr '[:upper:]' '[:lower:]' <<<"$names" | sort | uniq -d)"

if (( bad )); then
    echo "$what: rename the tests above; see scripts/check-test-names.sh for why" >&2
    exit 1
fi
echo "$what: $count test names, each usable as a ctest test and a Catch2 filter"
