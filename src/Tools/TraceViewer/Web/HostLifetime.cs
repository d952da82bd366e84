using Microsoft.Extensions.Hosting;

namespace TraceAgent.Viewer.Web;

/// <summary>The viewer handles Ctrl+C and SIGTERM itself; the web host must not hook them too.</summary>
internal sealed class HostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
