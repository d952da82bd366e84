using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Export;
using TraceAgent.Sampling;

namespace TraceAgent.Tracing;

/// <summary>
/// The agent's tracer: one ActivityListener that samples, lets instrumentations finish their spans,
/// and hands recorded spans to the batch processor. Built on System.Diagnostics alone: the
/// OpenTelemetry SDK is not loaded into the app at all (see docs/design.md).
/// </summary>
internal sealed class TracingPipeline : IDisposable
{
    // Marks a source whose instrumentation failed to start: its activities are not created at all,
    // exactly as when the instrumentation is switched off by configuration.
    private static readonly SpanHooks SwitchedOffHooks = new();
    private readonly Sampler _sampler;
    private readonly SamplingPolicy _policy;
    private readonly TraceKeeper? _keeper;
    private readonly bool _childrenFollowParent;
    private readonly ISpanProcessor _processor;
    private readonly SourceMatcher _sources;
    private readonly ConcurrentDictionary<string, SpanHooks> _hooksByName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ActivitySource, SpanHooks?> _hooksBySource = new();
    private readonly ActivityListener _listener;
    private readonly bool _followsSampledParent;
    private volatile string[] _madeUnsampled = [];
    private volatile SourceMatch? _lastDirectSource;
    private int _hooksVersion;

    /// <param name="childrenFollowParent">
    /// A local parent's sampled flag decides for its children whatever the sampler: set when an
    /// instrumentation may unsample a span the sampler chose (excluded request paths), so that
    /// nothing under it is sampled even under <c>always_on</c> or a plain <c>traceidratio</c>.
    /// </param>
    public TracingPipeline(Sampler sampler, ISpanProcessor processor, SourceMatcher sources, SamplingPolicySettings? policies = null, bool childrenFollowParent = false)
    {
        _sampler = sampler;
        policies ??= SamplingPolicySettings.None;
        _processor = processor;
        _policy = new SamplingPolicy(sampler, policies, ExportKept);
        _keeper = _policy.Keeper;

        // With a policy in force a local root may be unsampled whatever the head sampler says (a
        // rule, the rate limit): its children then follow it, even under a sampler that ignores
        // parents, so a trace is never left with sampled spans under an unsampled root. The same
        // holds for a request whose path is excluded.
        _childrenFollowParent = policies.Any || childrenFollowParent;

        // A child of a sampled span of this process is sampled, with its parent's tracestate: what
        // a span written with no Activity assumes (DirectSpans).
        _followsSampledParent = _childrenFollowParent || sampler is ParentBasedSampler or AlwaysOnSampler;
        _sources = sources;
        DirectSpans = new DirectSpans(this);
        _listener = new ActivityListener
        {
            ShouldListenTo = source => _sources.Matches(source.Name),
            Sample = Sample,
            SampleUsingParentId = SampleUsingParentId,
            ActivityStarted = OnStarted,
            ActivityStopped = OnStopped,
        };
    }

    public ISpanProcessor Processor => _processor;

    /// <summary>The sampling in force: head sampler and the agent's policies.</summary>
    public SamplingPolicy Sampling => _policy;

    /// <summary>Spans written with no Activity, where that makes the same span (see the class).</summary>
    public DirectSpans DirectSpans { get; }

    /// <summary>
    /// Sees each span written with no Activity after it is queued: the span-derived metrics
    /// (SpanMetrics), which measure the other spans of their sources with an ActivityListener.
    /// </summary>
    public IDirectSpanObserver? DirectSpanObserver { get; set; }

    public void Start() => ActivitySource.AddActivityListener(_listener);

    /// <summary>Registers what an instrumentation does with a source's spans; may be called after start.</summary>
    public void SetHooks(string sourceName, SpanHooks hooks)
    {
        _hooksByName[sourceName] = hooks;
        _hooksBySource.Clear();
        Interlocked.Increment(ref _hooksVersion);
    }

    /// <summary>
    /// Makes a source's spans under an unsampled parent in this process too (its trace not held
    /// either), unrecorded. Spans of other sources are not made there at all, as with the
    /// OpenTelemetry SDK: the unsampled parent stays current, and its context is what travels on.
    /// For a library that, given no span, makes a whole one of its own (HttpClient, ASP.NET Core),
    /// and for sources whose spans are measured (SpanMetrics counts every operation, sampled or not).
    /// </summary>
    public void MakeUnsampled(string sourceName)
    {
        lock (_hooksByName)
        {
            _madeUnsampled = [.. _madeUnsampled, sourceName];
        }
    }

    private bool IsMadeUnsampled(ActivitySource source)
    {
        foreach (var name in _madeUnsampled)
        {
            if (string.Equals(name, source.Name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Stops creating activities for a source, as if it were not listened to.</summary>
    public void SwitchOff(string sourceName) => SetHooks(sourceName, SwitchedOffHooks);

    private SpanHooks? HooksOf(ActivitySource source)
    {
        if (_hooksBySource.TryGetValue(source, out var hooks))
        {
            return hooks;
        }

        hooks = _hooksByName.TryGetValue(source.Name, out var found) ? found : null;
        _hooksBySource[source] = hooks;
        return hooks;
    }

    private ActivitySamplingResult Sample(ref ActivityCreationOptions<ActivityContext> options)
    {
        try
        {
            if (Suppression.IsActive)
            {
                return ActivitySamplingResult.None;
            }

            var hooks = HooksOf(options.Source);
            if (ReferenceEquals(hooks, SwitchedOffHooks))
            {
                return ActivitySamplingResult.None;
            }

            var filter = hooks?.Filter;
            if (filter is not null && !Keep(filter, ref options))
            {
                return ActivitySamplingResult.PropagationData;
            }

            var parent = options.Parent;
            if (parent.TraceId == default || parent.IsRemote)
            {
                return _policy.SampleLocalRoot(ref options);
            }

            // A parent in this process.
            bool sampled;
            if (_childrenFollowParent)
            {
                sampled = (parent.TraceFlags & ActivityTraceFlags.Recorded) != 0;
            }
            else
            {
                var decision = _sampler.ShouldSample(new SamplingParameters(parent, options.TraceId, options.TraceState, options.Name, options.Kind, options.Source, options.Tags));
                if (!ReferenceEquals(decision.TraceState, options.TraceState))
                {
                    // The init-only TraceState is how a sampler sets the span's tracestate (th of the ot member).
                    options = options with { TraceState = decision.TraceState };
                }

                sampled = decision.Sampled;
            }

            if (sampled)
            {
                return ActivitySamplingResult.AllDataAndRecorded;
            }

            // Under an unsampled parent whose trace is held (keep errors or slow), record too.
            if (_keeper is not null && _keeper.IsHeld(options.TraceId))
            {
                return ActivitySamplingResult.AllData;
            }

            // Otherwise the span is not created at all (but see MakeUnsampled): its start, stop and
            // tags would cost the request and record nothing.
            return IsMadeUnsampled(options.Source) ? ActivitySamplingResult.PropagationData : ActivitySamplingResult.None;
        }
        catch (Exception ex)
        {
            // Created but not recorded: the trace context the app's activity carries flows on.
            AgentFaults.Report("sampler", ex);
            return ActivitySamplingResult.PropagationData;
        }
    }

    /// <summary>
    /// An instrumentation's filter that throws keeps the span: the fault is counted and the
    /// sampler decides, so the app's activity (and the trace context it carries on) still exists.
    /// </summary>
    private static bool Keep(Func<ActivityCreationOptions<ActivityContext>, bool> filter, ref ActivityCreationOptions<ActivityContext> options)
    {
        try
        {
            return filter(options);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("filter of " + options.Source.Name + " spans", ex);
            return true;
        }
    }

    private ActivitySamplingResult SampleUsingParentId(ref ActivityCreationOptions<string> options)
    {
        try
        {
            // A parent given as a string that is not W3C (hierarchical Request-Id): treat as a root.
            if (Suppression.IsActive || ReferenceEquals(HooksOf(options.Source), SwitchedOffHooks))
            {
                return ActivitySamplingResult.None;
            }

            var parsed = ActivityContext.TryParse(options.Parent, options.TraceState, isRemote: true, out var parent);
            var decision = _sampler.ShouldSample(new SamplingParameters(
                parsed ? parent : default,
                parsed ? parent.TraceId : options.TraceId,
                options.TraceState,
                options.Name,
                options.Kind,
                options.Source,
                options.Tags));
            if (!ReferenceEquals(decision.TraceState, options.TraceState))
            {
                options = options with { TraceState = decision.TraceState };
            }

            return decision.Sampled ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.PropagationData;
        }
        catch (Exception ex)
        {
            // Created but not recorded: the trace context the app's activity carries flows on.
            AgentFaults.Report("sampler", ex);
            return ActivitySamplingResult.PropagationData;
        }
    }

    /// <summary>A span whose parent is absent or in another process.</summary>
    private static bool IsLocalRoot(Activity activity) =>
        activity.Parent is null && (activity.ParentSpanId == default || activity.HasRemoteParent);

    private void OnStarted(Activity activity)
    {
        // Also on unsampled spans: their context still travels downstream.
        RandomTraceFlag.MarkOutgoing(activity);
        if (!activity.IsAllDataRequested)
        {
            return;
        }

        if (_keeper is not null && !activity.Recorded && IsLocalRoot(activity))
        {
            _keeper.OpenRoot(activity);
        }

        SpanHooks.Run(HooksOf(activity.Source)?.OnStart, activity, "start");
    }

    private void OnStopped(Activity activity)
    {
        if (!activity.IsAllDataRequested)
        {
            ReleaseUnrecorded(activity);
            return;
        }

        var hooks = HooksOf(activity.Source);
        var onStop = hooks?.OnStop;
        if (onStop is not null)
        {
            SpanHooks.Run(onStop, activity, "end");

            // A hook may decide that the span must not be exported (e.g. a filtered request).
            if (!activity.IsAllDataRequested)
            {
                ReleaseUnrecorded(activity);
                return;
            }
        }

        if (activity.Recorded)
        {
            if (hooks?.WriteAttributes is { } attributes && _processor is EncodingSpanProcessor encoding)
            {
                encoding.OnEnd(activity, attributes);
            }
            else
            {
                _processor.OnEnd(activity);
            }
        }
        else
        {
            // Recorded without the sampled flag: held until its trace is decided.
            _keeper?.OnEnd(activity, hooks?.OnHeldEnd);
        }
    }

    /// <summary>A held span whose trace is kept: its instrumentation finishes it, then it is exported.</summary>
    private void ExportKept(Activity activity)
    {
        SpanHooks.Run(HooksOf(activity.Source)?.OnKept, activity, "end");
        _processor.OnEnd(activity);
    }

    /// <summary>A held local root filtered out after it started no longer keeps its trace open.</summary>
    private void ReleaseUnrecorded(Activity activity)
    {
        if (_keeper is not null && !activity.Recorded && IsLocalRoot(activity))
        {
            _keeper.OnUnrecordedEnd(activity);
        }
    }

    /// <summary>
    /// True when OTLP is the only trace exporter, so each sampled span is encoded as it ends, on its
    /// own thread, and SpanHooks.WriteAttributes is called for it.
    /// </summary>
    internal bool EncodesSpansAsTheyEnd => _processor is EncodingSpanProcessor;

    internal bool CanWriteDirect(ActivitySource source, in ActivityContext parent) =>
        _followsSampledParent
        && _processor is EncodingSpanProcessor
        && (parent.TraceFlags & ActivityTraceFlags.Recorded) != 0
        && !parent.IsRemote
        && parent.TraceId != default
        && !Suppression.IsActive
        && IsListenedWithoutHooks(source);

    private bool IsListenedWithoutHooks(ActivitySource source)
    {
        // One source asks, over and over: its answer is kept until hooks are set (an answer worked
        // out while they were being set carries the version before, and is worked out again).
        var last = _lastDirectSource;
        var version = Volatile.Read(ref _hooksVersion);
        if (last is null || !ReferenceEquals(last.Source, source) || last.HooksVersion != version)
        {
            last = new SourceMatch(source, version, _sources.Matches(source.Name) && HooksOf(source) is null);
            _lastDirectSource = last;
        }

        return last.Matches;
    }

    internal void WriteDirect(in DirectSpan span) => WriteDirect(span, RandomSpanId());

    internal void WriteDirect(in DirectSpan span, ulong spanId)
    {
        try
        {
            if (!span.Unsampled)
            {
                ((EncodingSpanProcessor)_processor).OnEnd(span, spanId);
            }

            DirectSpanObserver?.OnEnd(span, spanId);
        }
        catch (Exception ex)
        {
            AgentFaults.Report(span.Source.Name + " span", ex);
        }
    }

    internal bool TryStartDirect(ActivitySource source, Activity? parent, string name, ActivityKind kind, out DirectStart start)
    {
        start = default;
        if (_processor is not EncodingSpanProcessor || Suppression.IsActive || !IsListenedWithoutHooks(source))
        {
            return false;
        }

        ActivityContext parentContext;
        ActivityTraceFlags flags;
        string? reason = null;
        if (parent is not null)
        {
            // As Sample decides a child of a sampled span of this process; an unsampled parent (its
            // trace held or not) is left to the Activity path.
            if (!_followsSampledParent || !parent.Recorded || parent.IdFormat != ActivityIdFormat.W3C)
            {
                return false;
            }

            parentContext = RandomTraceFlag.ContextOf(parent);
            flags = ActivityTraceFlags.Recorded | (parentContext.TraceFlags & RandomTraceFlag.Random);
        }
        else
        {
            // A local root, decided as SampleLocalRoot decides one; the runtime would make its trace
            // id at random (hence the flag), unless the app changed how.
            if (_keeper is not null || Activity.TraceIdGenerator is not null || Activity.DefaultIdFormat != ActivityIdFormat.W3C)
            {
                return false;
            }

            var traceId = ActivityTraceId.CreateRandom();
            var decision = _policy.DecideDirectRoot(traceId, name, kind, source, out reason);
            parentContext = new ActivityContext(traceId, default, RandomTraceFlag.Random, decision.TraceState);
            flags = (decision.Sampled ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None) | RandomTraceFlag.Random;
        }

        var spanId = RandomSpanId();
        // The id's bytes little-endian, as the encoder writes them (BinaryPrimitives, not
        // MemoryMarshal.AsBytes: that generic method has no precompiled code for ulong).
        Span<byte> idBytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(idBytes, spanId);
        var context = new ActivityContext(parentContext.TraceId, ActivitySpanId.CreateFromBytes(idBytes), flags, parentContext.TraceState);
        start = new DirectStart(parentContext, context, spanId, reason);
        return true;
    }

    /// <summary>A span id as the runtime makes one (8 random bytes, not all zero), as a ulong in memory order.</summary>
    private static ulong RandomSpanId()
    {
        ulong id;
        do
        {
            id = (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue);
        }
        while (id == 0);

        return id;
    }

    public void Dispose()
    {
        _listener.Dispose();
        _policy.Dispose();
    }
}

/// <summary>What a span written with no Activity is also shown to (see TracingPipeline.DirectSpanObserver).</summary>
internal interface IDirectSpanObserver
{
    void OnEnd(in DirectSpan span, ulong spanId);
}

internal sealed record SourceMatch(ActivitySource Source, int HooksVersion, bool Matches);
