#!/usr/bin/env bash
# Records a CPU profile of the two load services (api and peer, both under the configuration)
# with perf, during the first seconds under load and during steady state, and prints where the
# CPU went: by thread (the tiered JIT has its own), by module, the top frames, and the agent's
# frames; then what each process's resident memory is made of at the end of the steady window,
# and what each allocated per request in each window, by type (Apps/AllocTally, a second startup
# hook in both processes, tallies the runtime's allocation sampling events); and what the JIT
# compiled over the run, the agent's methods apart (DOTNET_JitTimeLogCsv).
# The load is the benchmark suite's (build/bench.sh): wrk -c16 on /work, 2 s unmeasured, an 8 s
# window, load until 20 s, an 8 s window.
#
#   bash build/profile.sh [CONFIG,...] [--dir DIR] [--no-agent-build]
#
# CONFIG: a load configuration of the suite (agent, none, sdk, off, ratio1, ...; default agent);
# several (agent,none) are profiled one after the other. Files go to DIR (default
# artifacts/profile): <config>-first.perf.data, <config>-steady.perf.data, a .txt report of each,
# <config>-memory.txt, and <config>-jit.txt from the JIT's logs (<config>-jit-api.csv, -peer.csv);
# dig further with `perf report -i FILE` (set KEEP_PERF_MAPS=1 to keep the /tmp/perf-PID.map files
# that name the JIT-compiled frames). Needs perf (Debian: linux-perf).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
configs="agent"
dir="$root/artifacts/profile"
build_agent=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$(realpath -m "$2"); shift ;;
    --no-agent-build) build_agent=0 ;;
    -*) echo "unknown argument: $1" >&2; exit 2 ;;
    *) configs="$1" ;;
  esac
  shift
done
command -v perf >/dev/null 2>&1 || { echo "perf is needed (Debian: apt-get install linux-perf)" >&2; exit 1; }

bash build/install-prerequisites.sh
if [ "$build_agent" = 1 ] || [ ! -f dist/agent/TraceAgent.StartupHook.dll ]; then
  bash build/build.sh
fi
source build/bench-env.sh
what=(agent runner api sdk-hook alloc-tally)
[[ "$configs" == *net8* ]] && what+=(api-net8)
bench_publish "${what[@]}"
trap bench_cleanup EXIT
bench_start_servers
dotnet "$bench_out/runner/BenchRunner.dll" --repo "$root" --profile "$configs" --profile-dir "$dir" \
  --redis "$bench_redis" --postgres "$bench_postgres"
