#!/usr/bin/env bash
# Runs a .NET app under the agent:  instrument.sh dotnet app.dll [args]  |  instrument.sh ./app [args]
# Sets DOTNET_STARTUP_HOOKS to this folder's hook with an absolute path (a relative one aborts the
# app) and keeps any hook already set. OTEL_* variables are passed through as they are.
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: $(basename "$0") dotnet app.dll [args...] | $(basename "$0") ./app [args...]" >&2
  exit 2
fi
agent_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
hook="$agent_dir/TraceAgent.StartupHook.dll"
if [ ! -f "$hook" ]; then
  echo "[traceagent] $hook is missing: run build/build.sh; starting the app untraced" >&2
  exec "$@"
fi
case ":${DOTNET_STARTUP_HOOKS:-}:" in
  *":$hook:"*) ;;
  "::") export DOTNET_STARTUP_HOOKS="$hook" ;;
  *) export DOTNET_STARTUP_HOOKS="$DOTNET_STARTUP_HOOKS:$hook" ;;
esac
exec "$@"
