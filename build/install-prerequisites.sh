#!/usr/bin/env bash
# Installs what the tests and the demo need and a fresh Debian 12 machine lacks: PostgreSQL,
# redis-server, wrk; with --browser also Chromium and its driver (the trace viewer's browser
# tests; build/test.sh asks for them, the demo does not). Safe to run again; needs root (or sudo)
# only when something is missing.
set -euo pipefail
browser=0
[ "${1:-}" = "--browser" ] && browser=1
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ "$browser" = 1 ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
fi
command -v dotnet >/dev/null 2>&1 || { echo "the .NET 10 SDK is needed (dotnet on PATH)" >&2; exit 1; }
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian packages start system-wide servers; the tests and the demo start their own on free
# ports, so stop those to leave the machine as quiet as it was.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl stop redis-server postgresql >/dev/null 2>&1 || true
fi
