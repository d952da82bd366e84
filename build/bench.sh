#!/usr/bin/env bash
# The performance benchmark suite: start-up, a short-lived job, two services under load (first seconds and steady
# state), paired windows on warmed services for the small differences, per-operation CPU, the agent's stages (BenchmarkDotNet) and a collector outage, for no
# agent, the agent (100%, sampler off, 1%), the OpenTelemetry SDK in a startup hook, and .NET 8.
# Writes docs/performance.md (or --output FILE). The full run takes about 70 minutes on 2 cores:
# run it on a quiet machine, the report says how quiet it was.
#
#   bash build/bench.sh [--quick] [--output FILE] [--parts startup,job,load,paired,ops,stages,outage]
#                       [--configs none,agent,...] [--comparisons same,tracing,...] [--ops same,redis,...] [--ops-per-run N]
#                       [--rounds N] [--startup-runs N] [--net8-rounds N] [--no-net8]
#                       [--ops-base-agent DIR] [--base-agent DIR] [--no-agent-build]
#
# --quick: every part shortened to seconds, one round, to prove the suite runs (the integration
#          tests run it); its numbers mean nothing.
# --parts: run only these parts (the report marks the others' targets "not measured").
# --configs: load configurations (default none,agent,agent-metrics,sdk,off,ratio1,ratio1-keep,
#          net8-none,net8-agent; also agent-sdk-spans, agent-logs, agent-no-export); each one's baseline is added.
# --comparisons: the paired part's comparisons (default all: same, tracing, tracing-sdk, agent-sdk, redis, first, first-sdk, first-sdk-spans,
#          first-floor, first-agent-floor, floor, agent-floor, keep-errors, keep-floor, off, off-sdk, off-floor, metrics, metrics-sdk, metrics-floor; change
#          and first-change only with --base-agent or when named).
# --ops: the per-operation part's operations (default all: same, redis, redis-root, kafka-produce, kafka-header,
#          kafka-consume, export, export-sdk, metrics); --ops-per-run N: operations per window (default 60000).
# --rounds N: load and per-operation rounds (default 5; the paired part runs twice as many); --startup-runs N (default 11);
#          --net8-rounds N: rounds with the .NET 8 load configurations (default 3).
# --no-net8: leave the .NET 8 configurations out.
# --ops-base-agent DIR: another build of the agent (a copy of dist/agent) in the per-operation base processes,
#          set up as the test ones: the rows with the agent then show this build against that one, side by side.
# --base-agent DIR: another build of the agent (a copy of dist/agent) as the configuration agent-base;
#          the paired comparison `change` (run only with this option) measures this build against it.
# BENCH_PERF_MAPS=1 in the environment: every app writes /tmp/perf-PID.map, to name managed frames in a perf
#          record attached by hand.
# --no-agent-build: use dist/agent as it is (the integration tests run this while other tests use it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
output="$root/docs/performance.md"
parts="startup,job,load,paired,ops,stages,outage"
build_agent=1
net8=1
runner_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) runner_args+=(--quick) ;;
    --output) output=$(realpath -m "$2"); shift ;;
    --parts) parts="$2"; shift ;;
    --configs | --comparisons | --rounds | --startup-runs | --net8-rounds | --ops | --ops-per-run | --ops-base-agent | --base-agent) runner_args+=("$1" "$2"); shift ;;
    --no-net8) net8=0; runner_args+=(--no-net8) ;;
    --no-agent-build) build_agent=0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
parts=${parts//micro/ops,stages}

bash build/install-prerequisites.sh
if [ "$build_agent" = 1 ] || [ ! -f dist/agent/TraceAgent.StartupHook.dll ]; then
  bash build/build.sh
fi

source build/bench-env.sh
has() { [[ ",$parts," == *",$1,"* ]]; }
what=(agent runner)
if has startup || has job || has load || has paired || has outage; then what+=(api); fi
if has startup || has job || has load || has paired || has ops; then what+=(sdk-hook); fi
if has load && [ "$net8" = 1 ]; then what+=(api-net8); fi
if has startup || has job; then what+=(startup); fi
if has startup && [ "$net8" = 1 ]; then what+=(startup-net8); fi
if has ops; then what+=(ops); fi
if has stages; then what+=(stages); fi
bench_publish "${what[@]}"

trap bench_cleanup EXIT
bench_start_servers
dotnet "$bench_out/runner/BenchRunner.dll" --repo "$root" --output "$output" --parts "$parts" "${runner_args[@]}" \
  --redis "$bench_redis" --postgres "$bench_postgres" --redis-pid "$bench_redis_pid" --postgres-pid "$bench_pg_pid" \
  --stages-dir "$bench_work/bdn" --sdk-version "$(dotnet --version)" --tool-versions "$bench_tools" --agent-commit "$(bench_commit)"
echo "benchmark report: $output"
