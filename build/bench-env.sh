#!/usr/bin/env bash
# Shared by build/bench.sh and build/profile.sh (sourced, not run): publishes what the benchmark
# runner launches into artifacts/bench/, and starts redis-server and PostgreSQL on free ports in a
# temporary folder, stopped again when the calling script exits.

bench_out="$root/artifacts/bench"

# bench_publish WHAT...: agent (a snapshot of dist/agent), api, api-net8, startup, startup-net8,
# sdk-hook, alloc-tally, ops, stages, runner.
bench_publish() {
  local publish=(dotnet publish -c Release --nologo -v quiet -p:GenerateDocumentationFile=false)
  local apps=tests/Agent.Benchmarks/Apps
  mkdir -p "$bench_out"
  for what in "$@"; do
    case "$what" in
      # A snapshot: a rebuild of dist/agent during the run must not pull it from under the apps.
      agent) rm -rf "$bench_out/agent" && cp -r dist/agent "$bench_out/agent" ;;
      api) "${publish[@]}" "$apps/BenchApi" -o "$bench_out/BenchApi" ;;
      # The .NET 8 variants build in folders of their own: sharing obj/ with the .NET 10 build would
      # restore and rebuild both from scratch at every run.
      api-net8) "${publish[@]}" "$apps/BenchApi" -o "$bench_out/BenchApi-net8" -p:AppTargetFramework=net8.0 \
        -p:BaseIntermediateOutputPath="$bench_out/obj/BenchApi-net8/" -p:BaseOutputPath="$bench_out/bin/BenchApi-net8/" ;;
      startup) "${publish[@]}" "$apps/BenchStartup" -o "$bench_out/BenchStartup" ;;
      startup-net8) "${publish[@]}" "$apps/BenchStartup" -o "$bench_out/BenchStartup-net8" -p:AppTargetFramework=net8.0 \
        -p:BaseIntermediateOutputPath="$bench_out/obj/BenchStartup-net8/" -p:BaseOutputPath="$bench_out/bin/BenchStartup-net8/" ;;
      sdk-hook) "${publish[@]}" "$apps/OtelSdkHook" -o "$bench_out/sdk-hook" ;;
      alloc-tally) "${publish[@]}" "$apps/AllocTally" -o "$bench_out/alloc-tally" ;;
      ops) "${publish[@]}" "$apps/BenchOps" -o "$bench_out/BenchOps" ;;
      stages) "${publish[@]}" tests/Agent.Benchmarks -o "$bench_out/stages" ;;
      runner) "${publish[@]}" "$apps/BenchRunner" -o "$bench_out/runner" ;;
      *) echo "bench_publish: unknown $what" >&2; return 2 ;;
    esac
  done
  if ls "$bench_out/BenchApi" 2>/dev/null | grep -qi '^OpenTelemetry'; then
    echo "the benchmark app must not ship OpenTelemetry (the agent would stay off)" >&2
    return 1
  fi
}

bench_work=""
bench_redis_pid=""
bench_pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
bench_as_pg=()
[ "$(id -u)" -eq 0 ] && bench_as_pg=(runuser -u postgres --)

bench_cleanup() {
  [ -n "$bench_redis_pid" ] && kill "$bench_redis_pid" 2>/dev/null || true
  if [ -n "$bench_work" ] && [ -f "$bench_work/pg/data/postmaster.pid" ]; then
    "${bench_as_pg[@]}" "$bench_pg_bin/pg_ctl" -D "$bench_work/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [ -n "$bench_work" ] && rm -rf "$bench_work"
  return 0
}

bench_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Sets bench_redis, bench_postgres (connection strings), bench_redis_pid, bench_pg_pid,
# bench_tools (versions) and bench_work (the temporary folder, also for the caller's files).
bench_start_servers() {
  bench_work=$(mktemp -d /tmp/traceagent-bench.XXXXXX)
  chmod 755 "$bench_work"
  local redis_port pg_port
  redis_port=$(bench_free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --loglevel warning >"$bench_work/redis.log" 2>&1 &
  bench_redis_pid=$!

  mkdir -p "$bench_work/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$bench_work/pg"
  "${bench_as_pg[@]}" "$bench_pg_bin/initdb" -D "$bench_work/pg/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$bench_work/initdb.log" 2>&1
  pg_port=$(bench_free_port)
  "${bench_as_pg[@]}" "$bench_pg_bin/pg_ctl" -D "$bench_work/pg/data" -l "$bench_work/pg/server.log" -w -t 30 \
    -o "-p $pg_port -k $bench_work/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null
  bench_pg_pid=$(head -1 "$bench_work/pg/data/postmaster.pid")
  "$bench_pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 \
    -c "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g;"
  for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$redis_port" set bench:key value >/dev/null
  bench_redis="127.0.0.1:$redis_port"
  bench_postgres="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"
  bench_tools="wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $(redis-server --version | awk '{print $1, $2, $3}'), $("$bench_pg_bin/postgres" --version)"
}

bench_commit() {
  local commit
  commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git -C "$root" status --porcelain -- src 2>/dev/null)" ]; then
    commit="$commit with uncommitted changes in src/"
  fi
  echo "$commit"
}
