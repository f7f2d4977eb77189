#!/usr/bin/env python3
"""Checks that ctest ran every Catch2 test case, and each passed.

For each unit-test binary (build/host/unit-tests.txt), the number of cases it
lists with --list-test-names-only must equal the number of its ctest tests
that ran and passed in the run recorded by `ctest --output-junit`. A name
split into two ctest tests, a test that matched nothing, or a case with no
ctest test all show up as a difference.

    scripts/count-unit-tests.py <host build dir> <ctest junit xml>

When ctest arguments (-R, -L ...) left out only some of a binary's ctest
tests, that binary cannot be counted and is reported as such, not failed.
"""
import json
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET


def main(build_dir, junit):
    binaries = pathlib.Path(build_dir, "unit-tests.txt").read_text().split()

    # Every ctest test registered, whatever was selected this time, by binary.
    shown = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build_dir,
                           capture_output=True, text=True, check=True)
    registered = {b: set() for b in binaries}
    for test in json.loads(shown.stdout)["tests"]:
        command = test.get("command") or [""]
        if command[0] in registered:
            registered[command[0]].add(test["name"])

    # What this run selected, and how each ended: "run" means ran and passed,
    # and only those count as run below.
    status = {case.get("name"): case.get("status")
              for case in ET.parse(junit).getroot().iter("testcase")}

    ok = True
    for binary in binaries:
        name = pathlib.Path(binary).name
        listed = subprocess.run([binary, "--list-test-names-only"],
                                capture_output=True, text=True).stdout.splitlines()
        listed = len([line for line in listed if line.strip()])
        mine = registered[binary]
        selected = [t for t in mine if t in status]
        passed = len([t for t in selected if status[t] == "run"])
        line = f"{name}: {listed} cases listed, {passed} run"
        if mine and not selected:
            print(f"{name}: {listed} cases listed, none selected by the ctest arguments")
        elif mine and len(selected) < len(mine):
            print(f"{line} ({len(selected)} of its {len(mine)} ctest tests "
                  "selected by the ctest arguments: not counted)")
        elif passed == listed and len(mine) == listed:
            print(line)
        else:
            print(f"{line}: MISMATCH ({len(mine)} ctest tests, of which "
                  f"{len(mine) - passed} failed or did not run)")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
