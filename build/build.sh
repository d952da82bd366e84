#!/usr/bin/env bash
# Builds the agent folder into dist/agent (no arguments).
#   --samples       also publishes the demo's sample services (artifacts/samples/<name>/) and the
#                   trace viewer (artifacts/viewer/)
#   --samples-only  publishes only those, reusing dist/agent
#   --test-apps     also publishes the test applications the integration tests launch
#                   (artifacts/testapps/<name>/), and the samples and viewer, which the demo test runs
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
configuration=${CONFIGURATION:-Release}
out="$root/dist/agent"

mode=${1:-}

publish_samples() {
  for sample in samples/*/; do
    name=$(basename "$sample")
    [ -f "$sample/$name.csproj" ] || continue
    dotnet publish "$sample/$name.csproj" -c "$configuration" -o "$root/artifacts/samples/$name" --nologo -v quiet
  done
  dotnet publish src/Tools/TraceViewer/TraceViewer.csproj -c "$configuration" -o "$root/artifacts/viewer" --nologo -v quiet
  echo "samples and viewer published into $root/artifacts/samples and $root/artifacts/viewer"
}

if [ "$mode" = "--samples-only" ]; then
  publish_samples
  exit 0
fi

# The agent's assemblies are published ReadyToRun for this machine's platform: their start-up code
# then needs no JIT (about 10 ms less per process start, measured). The IL stays in them, so on
# another platform they still run, just JIT-compiled.
case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64 | arm64) rid=linux-arm64 ;;
  *) rid="" ;;
esac
ready_to_run=()
[ -n "$rid" ] && [ "${AGENT_READY_TO_RUN:-true}" = "true" ] && ready_to_run=(-r "$rid" --self-contained false -p:PublishReadyToRun=true)

# Built beside the old folder and swapped in at the end, so apps running from dist/agent meanwhile
# never see a half-built agent.
final="$out"
out="$final.new"
rm -rf "$out"
mkdir -p "$out"
# The hook targets .NET Core 3.0 so that it loads on every runtime (see StartupHook.cs): it is
# published as plain IL, with no runtime identifier (no runtime pack for 3.0 is needed or served).
dotnet publish src/Agent/Agent.StartupHook/Agent.StartupHook.csproj -c "$configuration" -o "$out" --nologo -v quiet -p:GenerateDocumentationFile=false
# The agent itself, once per runtime it traces (net8.0/, net9.0/, net10.0/): the same code, each
# build ReadyToRun for its own runtime, since a runtime uses no ReadyToRun code compiled for another.
# The hook loads the build of the runtime it runs on.
frameworks=$(sed -n 's:.*<AgentTargetFrameworks>\(.*\)</AgentTargetFrameworks>.*:\1:p' Directory.Build.props | tr ';' ' ')
for framework in $frameworks; do
  dotnet publish src/Agent/Agent/Agent.csproj -c "$configuration" -f "$framework" -o "$out/$framework" --nologo -v quiet -p:GenerateDocumentationFile=false "${ready_to_run[@]}"
  # Each instrumentation compiled as a version bubble of its own had its ReadyToRun code unused for
  # nearly every method that touches the core's types: the runtime JIT-compiled them (their spans'
  # hot paths among them) at tier 0 (RuntimeTests checks it). Compiled in one version bubble with
  # the core, it is used; the bubble is sound because the agent's assemblies ship and load together.
  bubble=()
  if [ ${#ready_to_run[@]} -gt 0 ]; then
    bubble=("-p:PublishReadyToRunCrossgen2ExtraArgs=--inputbubble%3B--inputbubbleref:$root/src/Agent/Agent/bin/$configuration/$framework/$rid/TraceAgent.dll")
  fi
  for project in src/Instrumentations/*/*.csproj; do
    # Their ReadyToRun images depend on the core's exact build (a mismatch stops the app at load:
    # "MVID mismatch"), but MSBuild redoes them only when the instrumentation's own IL changed: the
    # images of the last build go, so that a change to the core alone recompiles them too.
    [ -n "$rid" ] && rm -rf "$(dirname "$project")/obj/$configuration/$framework/$rid/R2R"
    dotnet publish "$project" -c "$configuration" -f "$framework" -o "$out/$framework" --nologo -v quiet -p:GenerateDocumentationFile=false "${ready_to_run[@]}" "${bubble[@]}"
  done
  # Each build holds only the agent's own assemblies: nothing an app could bind to by mistake.
  find "$out/$framework" -maxdepth 1 -type f ! -name 'TraceAgent.*' -delete
  find "$out/$framework" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
done
find "$out" -maxdepth 1 -type f ! -name 'TraceAgent.*' -delete
# The hook's IL (for .NET Core 3.0) gets ReadyToRun code compiled against .NET 10's runtime pack,
# with the compiler the agent's publish just restored: .NET 10 uses that code (its nine methods are
# then not JIT-compiled in every process, 2 to 2.5 ms of JIT, measured); .NET 8 and 9 use no
# ReadyToRun code compiled for another runtime and JIT it as before, and an older runtime runs the IL.
if [ ${#ready_to_run[@]} -gt 0 ]; then
  sdk_runtime=$(dotnet msbuild src/Agent/Agent/Agent.csproj -p:TargetFramework=net10.0 -getProperty:BundledNETCoreAppPackageVersion)
  packages=$(dotnet msbuild src/Agent/Agent/Agent.csproj -p:TargetFramework=net10.0 -getProperty:NuGetPackageRoot)
  crossgen="${packages%/}/microsoft.netcore.app.crossgen2.$rid/$sdk_runtime/tools/crossgen2"
  runtime_pack="${packages%/}/microsoft.netcore.app.runtime.$rid/$sdk_runtime/runtimes/$rid/lib/net10.0"
  if [ -x "$crossgen" ] && [ -d "$runtime_pack" ]; then
    "$crossgen" "$out/TraceAgent.StartupHook.dll" -o "$out/TraceAgent.StartupHook.r2r.dll" -r "$runtime_pack/*.dll" \
      --targetos linux --targetarch "${rid#linux-}" -O >/dev/null
    mv "$out/TraceAgent.StartupHook.r2r.dll" "$out/TraceAgent.StartupHook.dll"
  else
    echo "build.sh: no crossgen2 or runtime pack $sdk_runtime for $rid; the hook stays IL only" >&2
  fi
fi
cp build/instrument.sh "$out/instrument.sh"
chmod +x "$out/instrument.sh"
rm -rf "$final.old"
[ -d "$final" ] && mv "$final" "$final.old"
mv "$out" "$final"
rm -rf "$final.old"
out="$final"
echo "agent built into $out"

if [ "$mode" = "--samples" ] || [ "$mode" = "--test-apps" ]; then
  publish_samples
fi

if [ "$mode" = "--test-apps" ]; then
  for app in tests/TestApplications/*/; do
    name=$(basename "$app")
    if [ -f "$app/variants" ]; then
      # One line per published variant: "<suffix> <msbuild property>=<value> ...", e.g. a library
      # version at each end of the supported range, or another runtime. The suffix "." publishes
      # the app's default build under its own name.
      while read -r suffix props; do
        [ -z "$suffix" ] || [ "${suffix#\#}" != "$suffix" ] && continue
        args=()
        for prop in $props; do args+=("-p:$prop"); done
        target="$root/artifacts/testapps/$name-$suffix"
        [ "$suffix" = "." ] && target="$root/artifacts/testapps/$name"
        dotnet publish "$app" -c "$configuration" -o "$target" --nologo -v quiet "${args[@]}"
      done < "$app/variants"
    else
      dotnet publish "$app" -c "$configuration" -o "$root/artifacts/testapps/$name" --nologo -v quiet
    fi
  done
  echo "test applications published into $root/artifacts/testapps"
fi
