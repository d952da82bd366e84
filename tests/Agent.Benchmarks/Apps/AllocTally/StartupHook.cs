using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

#pragma warning disable CA1050 // The runtime looks the hook up as a type named StartupHook outside any namespace.

/// <summary>The startup hook: starts the tally when ALLOC_TALLY_FILE names where it goes.</summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        if (Environment.GetEnvironmentVariable("ALLOC_TALLY_FILE") is { Length: > 0 } file)
        {
            AllocTally.Tally.Start(string.Create(CultureInfo.InvariantCulture, $"{file}-{Environment.ProcessId}.tsv"));
        }
    }
}
#pragma warning restore CA1050

namespace AllocTally
{
    /// <summary>
    /// Sums the GCAllocationTick events by type name. Each event stands for the allocation amount
    /// it carries (about 100 KB, of every type, since the previous event); the type is the one
    /// whose object crossed the mark, so over many events a type's share of the sum estimates its
    /// share of the bytes allocated.
    /// </summary>
    internal sealed class Tally : EventListener
    {
        private const int GcKeyword = 0x1;
        private static Tally? s_instance;
        private readonly Dictionary<string, (long Bytes, long Events)> _byType = new(StringComparer.Ordinal);
        private readonly object _gate = new();
        private readonly string _file;

        private Tally(string file) => _file = file;

        public static void Start(string file)
        {
            // Kept referenced for the life of the process.
            s_instance = new Tally(file);
            new Thread(s_instance.WriteOften) { IsBackground = true, Name = "alloc tally" }.Start();
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)GcKeyword);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.PayloadNames is null)
            {
                return;
            }

            string type = "?";
            long amount = 0;
            for (int i = 0; i < eventData.PayloadNames.Count; i++)
            {
                switch (eventData.PayloadNames[i])
                {
                    case "TypeName":
                        type = eventData.Payload![i] as string ?? "?";
                        break;
                    case "AllocationAmount64":
                        amount = Convert.ToInt64(eventData.Payload![i], CultureInfo.InvariantCulture);
                        break;
                    case "AllocationAmount" when amount == 0:
                        amount = Convert.ToInt64(eventData.Payload![i], CultureInfo.InvariantCulture);
                        break;
                }
            }

            lock (_gate)
            {
                var (bytes, events) = _byType.GetValueOrDefault(type);
                _byType[type] = (bytes + amount, events + 1);
            }
        }

        private void WriteOften()
        {
            while (true)
            {
                Thread.Sleep(200);
                var text = new StringBuilder();
                lock (_gate)
                {
                    foreach (var (type, (bytes, events)) in _byType)
                    {
                        text.Append(bytes.ToString(CultureInfo.InvariantCulture)).Append('\t')
                            .Append(events.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(type).Append('\n');
                    }
                }

                try
                {
                    File.WriteAllText(_file + ".tmp", text.ToString());
                    File.Move(_file + ".tmp", _file, overwrite: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }
}
