#!/usr/bin/env bash
# The test command: installs prerequisites, builds the agent and the test applications, runs every
# test (unit and end-to-end), and ends with one line "N passed, N failed, N skipped".
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash build/install-prerequisites.sh || exit 1
bash build/build.sh --test-apps || exit 1
mkdir -p artifacts/test-results
status=0
log=artifacts/test-results/dotnet-test.log
: > "$log"
for project in tests/Agent.Tests tests/Agent.IntegrationTests; do
  dotnet test "$project" -c Release --nologo --logger "console;verbosity=normal" \
    --results-directory artifacts/test-results ${TEST_FILTER:+--filter "$TEST_FILTER"} 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
python3 - "$log" <<'PY' || true
import re, sys
passed = failed = skipped = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.search(r"Failed:\s*(\d+),\s*Passed:\s*(\d+),\s*Skipped:\s*(\d+)", line)
    if m:
        failed += int(m.group(1)); passed += int(m.group(2)); skipped += int(m.group(3))
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
