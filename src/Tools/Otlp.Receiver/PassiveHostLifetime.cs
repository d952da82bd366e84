using Microsoft.Extensions.Hosting;

namespace TraceAgent.Otlp.Receiver;

/// <summary>A host lifetime that does nothing: the receiver is started and stopped by its owner, not by signals.</summary>
internal sealed class PassiveHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
