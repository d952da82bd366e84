#!/usr/bin/env bash
# The style check (docs/contributing.md): every C# file of Agent.sln against .editorconfig, the
# way the build enforces it, without building. Prints each violation as
#   path(line,column): error RULE: message
# and exits non-zero if there is one. `bash build/check-style.sh --fix` applies the fixes that
# dotnet format knows (whitespace, usings, braces, namespaces); it renames nothing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
fix=false
[ "${1:-}" = "--fix" ] && fix=true
status=0

# A naming rule cannot select [ThreadStatic] fields (dotnet/roslyn#32955): they are checked here.
bad=$(find src tests samples -name '*.cs' -not -path '*/obj/*' -not -path '*/bin/*' -print0 |
  xargs -0 awk '/^[[:space:]]*\[ThreadStatic\]/ { getline; if ($0 !~ /[[:space:]]t_[a-z][A-Za-z0-9]*[[:space:]]*(;|=)/) print FILENAME "(" FNR "): error STYLE-T: a [ThreadStatic] field is named t_camelCase: " $0 }')
if [ -n "$bad" ]; then
  echo "$bad"
  status=1
fi

# dotnet format (shipped with the SDK) runs the three passes over the solution: whitespace,
# style (IDE rules) and analyzers (CA rules), reporting every diagnostic of severity warning or
# above, which the build makes errors. The restore before it needs only the local NuGet cache
# when the projects were restored once.
dotnet restore Agent.sln --nologo -v quiet
if [ "$fix" = true ]; then
  dotnet format Agent.sln --no-restore --severity warn -v quiet || status=1
else
  if ! dotnet format Agent.sln --verify-no-changes --no-restore --severity warn -v quiet; then
    echo "style check failed: see the lines above (file, line, rule); docs/contributing.md lists the rules;" \
      "bash build/check-style.sh --fix fixes whitespace and what has a code fix" >&2
    status=1
  fi
fi
exit $status
