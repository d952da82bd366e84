#!/usr/bin/env bash
# The test command: installs prerequisites, builds the agent and the test applications, runs every
# test (unit and end-to-end), and ends with one line "N passed, N failed, N skipped".
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash build/install-prerequisites.sh --browser || exit 1
# The style check first: a violation fails here in a few minutes, naming file, line and rule,
# before the long build and tests (docs/contributing.md).
bash build/check-style.sh || exit 1
bash build/build.sh --test-apps || exit 1
# The solution builds as a whole, as an IDE or a plain `dotnet build` sees it.
dotnet build Agent.sln -c Release --nologo -v quiet || exit 1
rm -rf artifacts/test-results
mkdir -p artifacts/test-results
status=0
log=artifacts/test-results/dotnet-test.log
: > "$log"
for project in tests/Agent.Tests tests/Agent.IntegrationTests; do
  dotnet test "$project" -c Release --no-build --nologo --logger "console;verbosity=normal" \
    --logger "trx;LogFileName=$(basename "$project").trx" \
    --results-directory artifacts/test-results ${TEST_FILTER:+--filter "$TEST_FILTER"} 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
python3 - artifacts/test-results <<'PY' || true
import glob, os, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in glob.glob(os.path.join(sys.argv[1], "*.trx")):
    counters = ET.parse(path).getroot().find(".//{*}Counters")
    if counters is not None:
        passed += int(counters.get("passed", 0))
        failed += int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0)) + int(counters.get("aborted", 0))
        skipped += int(counters.get("notExecuted", 0))
# The failures again, last, with their messages: a CI log often keeps only its tail.
for path in glob.glob(os.path.join(sys.argv[1], "*.trx")):
    for result in ET.parse(path).getroot().iter("{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}UnitTestResult"):
        if result.get("outcome") not in ("Passed", "NotExecuted"):
            print(f"FAILED {result.get('testName')}")
            message = result.find(".//{*}Message")
            trace = result.find(".//{*}StackTrace")
            text = "\n".join(x.text or "" for x in (message, trace) if x is not None)
            for line in text.splitlines()[:25]:
                print(f"    {line}")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
