using System.Diagnostics;
using System.Globalization;
using TraceAgent.Configuration;
using TraceAgent.Http;

namespace TraceAgent.Sampling;

/// <summary>
/// How a local root is sampled: OTEL_TRACES_SAMPLER, then the agent's policies (docs/sampling.md).
/// A root span's rule is matched on its request path (server spans) or topic (Kafka consumer
/// spans); the first matching rule's ratio decides, else the head sampler does; a sampled new root
/// trace then needs a token from the rate limit. What is not sampled is held by the
/// <see cref="TraceKeeper"/> when errors or slow traces are kept.
/// </summary>
/// <remarks>
/// An ASP.NET Core server span is created before its request path is known to the sampler, so when
/// rules or a rate limit apply, its decision is deferred: it is created as sampled and decided by
/// the ASP.NET Core instrumentation at the hosting start event (<see cref="DecideServerRoot"/>),
/// before the app's code runs, before any child span exists and before any header is sent on.
/// </remarks>
public sealed class SamplingPolicy : IDisposable
{
    private const string AspNetCoreSource = "Microsoft.AspNetCore";
    private const string TopicAttribute = "messaging.destination.name";

    private readonly Sampler _sampler;
    private readonly (string Pattern, TraceIdRatioSampler Sampler)[] _rules;
    private readonly RateLimiter? _rateLimit;
    private readonly bool _tagReasons;

    internal SamplingPolicy(Sampler sampler, SamplingPolicySettings settings, Action<Activity>? export)
    {
        _sampler = sampler;

        // A rule's ratio decides as traceidratio with that ratio does: consistently across services,
        // with its threshold written as th in the ot tracestate member.
        // A loop, not Select(...).ToArray(): LINQ over a tuple has no precompiled code, and this
        // runs at every start, rules or not.
        _rules = new (string Pattern, TraceIdRatioSampler Sampler)[settings.Rules.Count];
        for (var i = 0; i < _rules.Length; i++)
        {
            _rules[i] = (settings.Rules[i].Pattern, new TraceIdRatioSampler(settings.Rules[i].Ratio));
        }
        _rateLimit = settings.MaxTracesPerSecond is { } rate ? new RateLimiter(rate) : null;
        _tagReasons = settings.Any;
        Keeper = settings.Keeps && export is not null
            ? new TraceKeeper(export, settings.KeepErrors, settings.KeepSlowerThanMilliseconds, settings.KeepMaxBufferedSpans)
            : null;
        DefersServerRoots = _rules.Length > 0 || _rateLimit is not null;
        Description = Describe(sampler, settings);
    }

    /// <summary>The sampling in force, for the start-up summary.</summary>
    public string Description { get; }

    /// <summary>True when ASP.NET Core root spans are decided at the hosting start event.</summary>
    public bool DefersServerRoots { get; }

    internal TraceKeeper? Keeper { get; }

    /// <summary>
    /// False when a span made now under this parent would record nothing: the parent is not
    /// sampled and its trace not held (or no longer: the keeper dropped it).
    /// </summary>
    public bool RecordsChildrenOf(ActivityContext parent) =>
        parent.TraceId == default
        || (parent.TraceFlags & ActivityTraceFlags.Recorded) != 0
        || (Keeper is not null && Keeper.IsHeld(parent.TraceId));

    /// <summary>
    /// The decision for a span whose parent is remote or absent (a local root). A span that is not
    /// sampled is recorded without the sampled flag when the keeper holds such traces.
    /// </summary>
    internal ActivitySamplingResult SampleLocalRoot(ref ActivityCreationOptions<ActivityContext> options)
    {
        var parameters = new SamplingParameters(options.Parent, options.TraceId, options.TraceState, options.Name, options.Kind, options.Source, options.Tags);
        SamplingDecision decision;
        string reason;
        if (!parameters.IsRoot)
        {
            // A remote parent: the head sampler decides (a parent-based one follows the parent).
            decision = _sampler.ShouldSample(parameters);
            reason = _sampler is ParentBasedSampler ? "parent" : "ratio";
        }
        else if (DefersServerRoots && options.Kind == ActivityKind.Server && options.Source.Name == AspNetCoreSource)
        {
            // Decided at the hosting start event, when the path is known.
            return ActivitySamplingResult.AllDataAndRecorded;
        }
        else
        {
            decision = DecideNewRoot(parameters, _rules.Length > 0 && options.Kind == ActivityKind.Consumer ? TopicOf(options.Tags) : null, out reason);
        }

        if (!ReferenceEquals(decision.TraceState, options.TraceState))
        {
            // The init-only TraceState is how a sampler sets the span's tracestate (th of the ot member).
            options = options with { TraceState = decision.TraceState };
        }

        if (decision.Sampled)
        {
            Tag(ref options, reason);
            return ActivitySamplingResult.AllDataAndRecorded;
        }

        return NotSampled();
    }

    /// <summary>
    /// The decision for a local root made with no Activity (DirectSpans.TryStart), as
    /// <see cref="SampleLocalRoot"/> makes it for one with no rule text (rules match server paths
    /// and consumer topics); only where no trace is held (no keeper). The reason is given for a
    /// sampled root when policies tag it.
    /// </summary>
    internal SamplingDecision DecideDirectRoot(ActivityTraceId traceId, string name, ActivityKind kind, ActivitySource source, out string? reason)
    {
        var decision = DecideNewRoot(new SamplingParameters(default, traceId, null, name, kind, source, null), null, out var why);
        reason = decision.Sampled && _tagReasons ? why : null;
        return decision;
    }

    /// <summary>
    /// Decides an ASP.NET Core root span created as sampled by a deferred decision, from its request
    /// path: keeps it, holds it as undecided (keep errors or slow), or drops it.
    /// </summary>
    public void DecideServerRoot(Activity activity, string? path)
    {
        if (!DefersServerRoots || activity.Parent is not null || activity.ParentSpanId != default || !activity.Recorded)
        {
            return;
        }

        var parameters = new SamplingParameters(default, activity.TraceId, activity.TraceStateString, activity.OperationName, activity.Kind, activity.Source, null);
        var decision = DecideNewRoot(parameters, path ?? string.Empty, out var reason);
        if (!ReferenceEquals(decision.TraceState, activity.TraceStateString))
        {
            activity.TraceStateString = decision.TraceState;
        }

        if (decision.Sampled)
        {
            if (_tagReasons)
            {
                activity.SetTag(TraceKeeper.ReasonAttribute, reason);
            }

            return;
        }

        activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
        if (Keeper is null)
        {
            activity.IsAllDataRequested = false;
        }
        else
        {
            Keeper.OpenRoot(activity);
        }
    }

    // The reason as an out parameter, not in a tuple: a ValueTuple over the agent's own struct is
    // an instantiation no ReadyToRun image holds, JIT-compiled in every process.
    private SamplingDecision DecideNewRoot(in SamplingParameters parameters, string? ruleText, out string reason)
    {
        var rule = ruleText is null ? -1 : MatchRule(ruleText);
        reason = rule >= 0 ? "rule" : "ratio";
        var decision = rule >= 0 ? _rules[rule].Sampler.ShouldSample(parameters) : _sampler.ShouldSample(parameters);
        if (decision.Sampled && _rateLimit is not null && !_rateLimit.TryAcquire())
        {
            // Not kept after all: no threshold may claim it was (consistent sampling specification).
            decision = new SamplingDecision(false, OtelTraceState.WithThreshold(decision.TraceState, null));
        }

        return decision;
    }

    private int MatchRule(string text)
    {
        for (var i = 0; i < _rules.Length; i++)
        {
            if (GlobPattern.IsMatch(_rules[i].Pattern, text))
            {
                return i;
            }
        }

        return -1;
    }

    private ActivitySamplingResult NotSampled() =>
        Keeper is null ? ActivitySamplingResult.PropagationData : ActivitySamplingResult.AllData;

    private void Tag(ref ActivityCreationOptions<ActivityContext> options, string reason)
    {
        if (_tagReasons)
        {
            options.SamplingTags.Add(TraceKeeper.ReasonAttribute, reason);
        }
    }

    private static string? TopicOf(IEnumerable<KeyValuePair<string, object?>>? tags)
    {
        if (tags is null)
        {
            return null;
        }

        foreach (var tag in tags)
        {
            if (tag.Key == TopicAttribute)
            {
                return tag.Value as string;
            }
        }

        return null;
    }

    private static string Describe(Sampler sampler, SamplingPolicySettings settings)
    {
        var text = sampler.Description;
        if (settings.Rules.Count > 0)
        {
            text += "; rules " + string.Join(",", settings.Rules.Select(r => r.Pattern + "=" + r.Ratio.ToString(CultureInfo.InvariantCulture)));
        }

        if (settings.MaxTracesPerSecond is { } rate)
        {
            text += "; at most " + rate.ToString(CultureInfo.InvariantCulture) + " new traces/s";
        }

        if (settings.Keeps)
        {
            var kept = new List<string>();
            if (settings.KeepErrors)
            {
                kept.Add("with errors");
            }

            if (settings.KeepSlowerThanMilliseconds is { } ms)
            {
                kept.Add("slower than " + ms.ToString(CultureInfo.InvariantCulture) + " ms");
            }

            text += "; unsampled traces kept when " + string.Join(" or ", kept)
                + " (up to " + settings.KeepMaxBufferedSpans.ToString(CultureInfo.InvariantCulture) + " spans held)";
        }

        return text;
    }

    public void Dispose() => Keeper?.Dispose();
}
