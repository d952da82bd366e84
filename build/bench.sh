#!/usr/bin/env bash
# The performance benchmark suite: start-up, throughput and latency under load, per-operation costs
# and a collector outage, for no agent / the agent / the in-code OpenTelemetry SDK. Writes
# docs/performance.md (or --output FILE). The full run takes about ten minutes on 2 cores.
#
#   bash build/bench.sh [--quick] [--output FILE] [--parts startup,load,micro,outage] [--no-agent-build]
#
# --quick: a few seconds per part, to prove the suite runs (CI); its numbers mean nothing.
# --no-agent-build: use dist/agent as it is (the integration tests run this while other tests use it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
quick=""
output="$root/docs/performance.md"
parts="startup,load,micro,outage"
build_agent=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick="--quick" ;;
    --output) output=$(realpath -m "$2"); shift ;;
    --parts) parts="$2"; shift ;;
    --no-agent-build) build_agent=0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

bash build/install-prerequisites.sh
if [ "$build_agent" = 1 ] || [ ! -f dist/agent/TraceAgent.StartupHook.dll ]; then
  bash build/build.sh
fi

out="$root/artifacts/bench"
# A snapshot of the agent: a rebuild of dist/agent during the run must not pull it from under the apps.
rm -rf "$out/agent"
mkdir -p "$out"
cp -r dist/agent "$out/agent"
publish() { dotnet publish "$@" -c Release --nologo -v quiet -p:GenerateDocumentationFile=false; }
publish tests/Agent.Benchmarks/Apps/BenchApi -o "$out/api-plain"
# The SDK variant builds into its own intermediate folder so that the two never share outputs.
publish tests/Agent.Benchmarks/Apps/BenchApi -o "$out/api-sdk" -p:WithOtelSdk=true -p:IntermediateOutputPath=obj/sdk/
publish tests/Agent.Benchmarks/Apps/BenchRunner -o "$out/runner"
publish tests/Agent.Benchmarks -o "$out/micro"
if ls "$out/api-plain" | grep -qi '^OpenTelemetry'; then
  echo "the plain benchmark app must not ship OpenTelemetry (the agent would stay off)" >&2
  exit 1
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work=$(mktemp -d /tmp/traceagent-bench.XXXXXX)
chmod 755 "$work"
redis_pid=""
pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
  if [ -f "$work/pg/data/postmaster.pid" ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --loglevel warning >"$work/redis.log" 2>&1 &
redis_pid=$!

mkdir -p "$work/pg"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$work/pg"
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$work/initdb.log" 2>&1
pg_port=$(free_port)
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 30 \
  -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null
"$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 \
  -c "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g;"
for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" set bench:key value >/dev/null

tools="wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $(redis-server --version | awk '{print $1, $2, $3}'), $("$pg_bin/postgres" --version)"
dotnet "$out/runner/BenchRunner.dll" --repo "$root" --output "$output" $quick --parts "$parts" \
  --redis "127.0.0.1:$redis_port" --postgres "Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres" \
  --micro "$work/bdn" --sdk-version "$(dotnet --version)" --tool-versions "$tools"
echo "benchmark report: $output"
