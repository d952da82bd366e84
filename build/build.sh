#!/usr/bin/env bash
# Builds the agent folder into dist/agent (no arguments). With --test-apps, also publishes the
# test applications the integration tests launch into artifacts/testapps/<name>/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
configuration=${CONFIGURATION:-Release}
out="$root/dist/agent"

rm -rf "$out"
mkdir -p "$out"
for project in \
  src/Agent/Agent.StartupHook/Agent.StartupHook.csproj \
  src/Agent/Agent/Agent.csproj \
  src/Instrumentations/AspNetCore/AspNetCore.csproj \
  $(ls src/Instrumentations/*/*.csproj | grep -v AspNetCore || true); do
  dotnet publish "$project" -c "$configuration" -o "$out" --nologo -v quiet -p:GenerateDocumentationFile=false
done
# The agent folder holds only the agent's own assemblies: nothing an app could bind to by mistake.
find "$out" -maxdepth 1 -type f ! -name 'TraceAgent.*' -delete
find "$out" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
cp build/instrument.sh "$out/instrument.sh"
chmod +x "$out/instrument.sh"
echo "agent built into $out"

if [ "${1:-}" = "--test-apps" ]; then
  for app in tests/TestApplications/*/; do
    name=$(basename "$app")
    if [ -f "$app/variants" ]; then
      # One line per published variant: "<suffix> <msbuild property>=<value> ...", e.g. a library
      # version at each end of the supported range.
      while read -r suffix props; do
        [ -z "$suffix" ] || [ "${suffix#\#}" != "$suffix" ] && continue
        args=()
        for prop in $props; do args+=("-p:$prop"); done
        dotnet publish "$app" -c "$configuration" -o "$root/artifacts/testapps/$name-$suffix" --nologo -v quiet "${args[@]}"
      done < "$app/variants"
    else
      dotnet publish "$app" -c "$configuration" -o "$root/artifacts/testapps/$name" --nologo -v quiet
    fi
  done
  echo "test applications published into $root/artifacts/testapps"
fi
