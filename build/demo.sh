#!/usr/bin/env bash
# The demo in one command: builds the agent, the sample shop and the trace viewer, starts
# PostgreSQL, Redis and a Kafka (mock) broker on free 127.0.0.1 ports, runs the four sample
# services under the agent (dist/agent/instrument.sh) exporting to the viewer, places a few
# orders (normal, slow, failing, N+1), and lets the viewer print each trace with its analysis.
# Then it stops the services and leaves the viewer serving its web UI (http://127.0.0.1:16686, or
# a free port when that one is taken) with the URL of each demo trace, until Ctrl+C.
# The traces end up in artifacts/demo/traces.db (the viewer's store) and artifacts/demo/traces.json,
# the services' output in artifacts/demo/logs/. Everything it started is stopped on exit.
#
#   --exit                  run and exit once the traces are in (no serving; for CI and scripts)
#   DEMO_SKIP_BUILD=1       reuse dist/agent and the published samples and viewer
#   DEMO_SKIP_AGENT_BUILD=1 reuse dist/agent (built by build/build.sh), publish the samples and viewer
#   DEMO_TIMEOUT_SECONDS=N  hard cap for the run after the build (default 180)
#   DEMO_BUILD_TIMEOUT_SECONDS=N  hard cap for the build (default 1200)
set -euo pipefail
serve=1
for arg in "$@"; do
  case "$arg" in
    --exit) serve=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

demo_dir="$root/artifacts/demo"
logs="$demo_dir/logs"
samples_out="$root/artifacts/samples"
viewer_dll="$root/artifacts/viewer/traceagent-viewer.dll"
traces_json="$demo_dir/traces.json"
traces_db="$demo_dir/traces.db"
samples=(KafkaMock Payments Orders Worker Frontend)

if [ -t 1 ]; then
  say() { printf '\033[1;36m▸\033[0m %s\n' "$*"; }
else
  say() { printf '▸ %s\n' "$*"; }
fi
fail() { printf 'demo failed: %s\n' "$*" >&2; exit 1; }

# ---- cleanup: everything started here is recorded and stopped on exit ----------------------
pids=()
tmp=""
pg_ctl_bin=""
pg_data=""
watchdog=""
serving=0
as_postgres=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null || true
  # Newest first: the services, then the broker, then the viewer (started before the services).
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
    "${as_postgres[@]}" "$pg_ctl_bin" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [ -n "$tmp" ] && rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
# Ctrl+C is how a user ends the serving phase: that is a normal end, not a failure.
trap 'if [ "$serving" = 1 ]; then exit 0; else exit 130; fi' INT
trap 'exit 143' TERM

# A background timer that ends the demo (through the EXIT trap) when it runs too long.
arm_watchdog() {
  [ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null || true
  local seconds=$1 what=$2 main=$$
  (
    # Killing this subshell must not leave its sleep behind holding the demo's output open.
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$seconds" & sleeper=$!
    wait "$sleeper"
    echo "demo: $what took longer than $seconds s; stopping" >&2
    kill -TERM "$main"
  ) &
  watchdog=$!
}

# True when nothing accepts connections on 127.0.0.1:$1.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Below Linux's ephemeral range (32768-60999): a port there can be the local end of another
# process's outgoing connection, which no connect test sees but which a server cannot bind (a CI
# run lost its PostgreSQL to one).
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 12000))
    if port_free "$port"; then echo "$port"; return 0; fi
  done
  fail "no free port found"
}

# Waits until $2 (a command) succeeds, for at most $1 seconds; $3 names what is awaited. With
# $4 (a pid) and $5 (its log), fails at once, showing the log's end, if that process has died.
wait_for() {
  local seconds=$1 check=$2 what=$3 pid=${4:-} log=${5:-} deadline=$((SECONDS + $1))
  until eval "$check"; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      [ -n "$log" ] && tail -n 30 "$log" >&2
      fail "$what exited before it was ready (log: $log)"
    fi
    [ $SECONDS -lt $deadline ] || fail "$what not ready after $seconds s (logs: $logs)"
    sleep 0.2
  done
}

# A GET with bash alone; prints the response body.
http_get() {
  local port=$1 path=$2
  exec 4<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$path" "$port" >&4
  sed '1,/^\r\{0,1\}$/d' <&4
  exec 4<&-
}

# An HTTP request with bash alone (no curl needed); prints the status code.
http() {
  local method=$1 port=$2 path=$3 status
  exec 3<>"/dev/tcp/127.0.0.1/$port" || { echo "000"; return; }
  printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "$method" "$path" "$port" >&3
  read -r -t 30 _ status _ <&3 || status="000"
  cat <&3 >/dev/null || true
  exec 3<&-
  echo "$status"
}

mkdir -p "$logs"
rm -f "$traces_json" "$traces_db" "$traces_db"-wal "$traces_db"-shm "$logs"/*.log

# ---- build ---------------------------------------------------------------------------------
arm_watchdog "${DEMO_BUILD_TIMEOUT_SECONDS:-1200}" "the build"
say "checking prerequisites (PostgreSQL, Redis)"
bash build/install-prerequisites.sh > "$logs/prerequisites.log" 2>&1 || { cat "$logs/prerequisites.log" >&2; fail "build/install-prerequisites.sh failed"; }
if [ "${DEMO_SKIP_BUILD:-0}" = "1" ]; then
  for needed in "$root/dist/agent/TraceAgent.StartupHook.dll" "$viewer_dll" "$samples_out/Frontend/Sample.Frontend.dll"; do
    [ -f "$needed" ] || fail "DEMO_SKIP_BUILD=1 but $needed is missing"
  done
  say "using the agent, samples and viewer already built"
else
  say "building the agent, the sample services and the viewer (log: ${logs#"$root"/}/build.log)"
  {
    if [ "${DEMO_SKIP_AGENT_BUILD:-0}" = "1" ] && [ -f "$root/dist/agent/TraceAgent.StartupHook.dll" ]; then
      echo "reusing dist/agent"
      bash build/build.sh --samples-only
    else
      bash build/build.sh --samples
    fi
  } > "$logs/build.log" 2>&1 || { tail -n 40 "$logs/build.log" >&2; fail "build failed"; }
fi
arm_watchdog "${DEMO_TIMEOUT_SECONDS:-180}" "the demo"

# ---- infrastructure --------------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/traceagent-demo.XXXXXX")
chmod 755 "$tmp"

initdb_bin=$(command -v initdb || true)
if [ -n "$initdb_bin" ]; then
  pg_bin=$(dirname "$(readlink -f "$initdb_bin")")
else
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
[ -x "$pg_bin/initdb" ] || fail "PostgreSQL's initdb not found"
pg_ctl_bin="$pg_bin/pg_ctl"
pg_data="$tmp/pg"
mkdir -p "$pg_data"
if [ "$(id -u)" -eq 0 ]; then
  # initdb and postgres refuse to run as root; the Debian package's postgres account does.
  chown -R postgres:postgres "$pg_data"
  as_postgres=(runuser -u postgres --)
fi
pg_port=$(free_port)
say "starting PostgreSQL on 127.0.0.1:$pg_port"
"${as_postgres[@]}" "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync > "$logs/postgres-init.log" 2>&1 \
  || { cat "$logs/postgres-init.log" >&2; fail "initdb failed"; }
"${as_postgres[@]}" "$pg_ctl_bin" -D "$pg_data" -l "$pg_data/server.log" -w -t 30 \
  -o "-p $pg_port -k $pg_data -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start > "$logs/postgres.log" 2>&1 \
  || { cat "$pg_data/server.log" >&2; fail "PostgreSQL did not start"; }

redis_port=$(free_port)
say "starting Redis on 127.0.0.1:$redis_port"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no > "$logs/redis.log" 2>&1 &
pids+=($!)
wait_for 20 "! port_free $redis_port" "Redis" "$!" "$logs/redis.log"

say "starting the Kafka mock broker"
dotnet "$samples_out/KafkaMock/Sample.KafkaMock.dll" order.created < /dev/null > "$tmp/kafka.out" 2> "$logs/kafka.log" &
pids+=($!)
wait_for 30 "[ -s '$tmp/kafka.out' ]" "the Kafka mock broker" "$!" "$logs/kafka.log"
kafka=$(head -n 1 "$tmp/kafka.out")
say "Kafka mock broker on $kafka"

# ---- the viewer ------------------------------------------------------------------------------
otlp_http=4318
otlp_grpc=4317
ui_port=16686
if ! port_free $otlp_http || ! port_free $otlp_grpc; then
  otlp_http=$(free_port)
  otlp_grpc=$(free_port)
fi
port_free $ui_port || ui_port=$(free_port)
dotnet "$viewer_dll" --http-port "$otlp_http" --grpc-port "$otlp_grpc" --ui-port "$ui_port" --quiet-ms 3000 --min-spans 2 \
  --db "$traces_db" --json "$traces_json" &
viewer_pid=$!
pids+=("$viewer_pid")
wait_for 30 "! port_free $otlp_http" "the viewer" "$viewer_pid"

# ---- the services, under the agent -------------------------------------------------------------
agent_env=(
  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$otlp_http"
  OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
  OTEL_BSP_SCHEDULE_DELAY=200
  OTEL_LOGS_EXPORTER=otlp
  OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=demo
  ASPNETCORE_ENVIRONMENT=Production
  Logging__Console__FormatterName=simple
)
declare -A service_port service_pid
start_service() {
  local name=$1 sample=$2
  shift 2
  local port
  port=$(free_port)
  service_port[$name]=$port
  # From the app's own folder, so that its appsettings.json is found (the content root).
  (cd "$samples_out/$sample" && exec env "${agent_env[@]}" OTEL_SERVICE_NAME="$name" ASPNETCORE_URLS="http://127.0.0.1:$port" "$@" \
    "$root/dist/agent/instrument.sh" dotnet "Sample.$sample.dll") > "$logs/$name.log" 2>&1 &
  pids+=($!)
  service_pid[$name]=$!
}

say "starting payments, orders, worker and frontend under the agent"
start_service payments Payments
start_service orders Orders \
  ORDERS_DB="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=shop" \
  REDIS="127.0.0.1:$redis_port" KAFKA_BOOTSTRAP="$kafka"
start_service worker Worker KAFKA_BOOTSTRAP="$kafka" PAYMENTS_URL="http://127.0.0.1:${service_port[payments]}"
start_service frontend Frontend ORDERS_URL="http://127.0.0.1:${service_port[orders]}"

# Ready means listening (a health request would only add a trace of its own to the output).
for name in payments orders frontend; do
  wait_for 60 "! port_free ${service_port[$name]}" "$name" "${service_pid[$name]}" "$logs/$name.log"
done
wait_for 60 "grep -q 'worker: consuming order.created' '$logs/worker.log'" "worker" "${service_pid[worker]}" "$logs/worker.log"
say "all four services are up: frontend :${service_port[frontend]}, orders :${service_port[orders]}, payments :${service_port[payments]}, worker (Kafka)"

# ---- the orders --------------------------------------------------------------------------------
frontend=${service_port[frontend]}
order() {
  local what=$1 method=$2 path=$3 status
  status=$(http "$method" "$frontend" "$path")
  say "$what: $method $path -> $status"
}
order "a normal order     " POST "/checkout?sku=espresso&quantity=2&payment=card"
order "a slow payment     " POST "/checkout?sku=grinder&quantity=1&payment=bank-transfer"
order "a failing order    " POST "/checkout?sku=espresso&quantity=0&payment=card"
order "the catalog (N+1)  " GET "/catalog"
say "waiting for the viewer to show the four traces (each once nothing more arrives for it)"

# Each trace is in the JSON once the viewer has finished it; the order traces end in the worker
# and payments spans, so wait for all four frontend traces before stopping anything.
# The two paid orders must also hold their payments spans: under load a trace can be shown
# before its Kafka half arrives, and is then shown again once that half is in.
count_in_json() {
  if [ -f "$traces_json" ]; then grep -c "$1" "$traces_json" || true; else echo 0; fi
}
wait_for 90 "[ \$(count_in_json '^      \"name\": \"frontend ') -ge 4 ] && [ \$(count_in_json '\"http.route\": \"/payments/') -ge 2 ]" "the four traces"

# Stop the services first (the agent flushes on exit): the viewer then holds every span.
for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
  [ "${pids[i]}" = "$viewer_pid" ] && continue
  kill -TERM "${pids[i]}" 2>/dev/null || true
done
for pid in "${pids[@]}"; do
  [ "$pid" = "$viewer_pid" ] && continue
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done
"${as_postgres[@]}" "$pg_ctl_bin" -D "$pg_data" -m fast -w stop >/dev/null 2>&1 || true

# The URL of each demo trace, found with the viewer's own search (the same one its page uses).
ui="http://127.0.0.1:$ui_port"
trace_url() {
  local id
  id=$(http_get "$ui_port" "/viewer-api/search?$1" | grep -oE '"traceId":"[0-9a-f]{32}"' | head -n 1 | cut -d'"' -f4) || true
  if [ -n "$id" ]; then echo "$ui/trace/$id"; else echo "(not found: $1)"; fi
}
echo
say "the demo's traces in the viewer:"
printf '    %-22s %s\n' \
  "normal order" "$(trace_url 'tags=%7B%22http.route%22%3A%22%2Fpayments%2Fcard%22%7D')" \
  "slow payment" "$(trace_url 'tags=%7B%22http.route%22%3A%22%2Fpayments%2Fbank-transfer%22%7D')" \
  "failing order" "$(trace_url 'service=frontend&operation=POST%20%2Fcheckout&errors=true')" \
  "catalog (N+1 queries)" "$(trace_url 'service=frontend&operation=GET%20%2Fcatalog')" \
  "search" "$ui/search" \
  "service map" "$ui/map"

if [ "$serve" = 1 ]; then
  [ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null || true
  watchdog=""
  serving=1
  say "the viewer keeps serving $ui (traces kept in ${traces_db#"$root"/}); press Ctrl+C to stop"
  wait "$viewer_pid" || true
  exit 0
fi

# --exit: the viewer shows anything still open, writes the JSON one last time and exits.
kill -TERM "$viewer_pid" 2>/dev/null || true
wait "$viewer_pid" || fail "the viewer exited with an error"

echo
say "done: traces in ${traces_db#"$root"/} and ${traces_json#"$root"/}, service output in ${logs#"$root"/}/"
say "to look at them in the browser: dotnet ${viewer_dll#"$root"/} --db ${traces_db#"$root"/}, then http://127.0.0.1:16686"
