using System.Diagnostics;
using TraceAgent.Export;

namespace TraceAgent.Tracing;

/// <summary>
/// Writes attributes of a sampled span straight into its encoding as it ends (see
/// <see cref="SpanHooks.WriteAttributes"/>).
/// </summary>
public delegate void SpanAttributeWriter(Activity activity, ref SpanAttributes attributes);

/// <summary>
/// The attributes of one span being encoded, after those of its Activity: each is written in place
/// under the span's attribute limits, counted with the Activity's own. A key the Activity already
/// has (set by the app, or by the instrumentation itself) keeps the Activity's value. Made by
/// <see cref="OnActivity"/> instead, the same calls set the attributes on the Activity, for the
/// exporters that read it: an instrumentation writes its attributes once for both.
/// </summary>
public ref struct SpanAttributes
{
    private readonly ProtoWriter? _writer;
    private readonly AttributeKeys? _keys;
    private readonly Activity _activity;
    private readonly bool _activityHasTags;
    private ref OtlpTraceEncoder.TagCount _count;

    internal SpanAttributes(ProtoWriter writer, AttributeKeys keys, Activity activity, ref OtlpTraceEncoder.TagCount count)
    {
        _writer = writer;
        _keys = keys;
        _activity = activity;
        _activityHasTags = count.Count + count.Dropped > 0;
        _count = ref count;
    }

    private SpanAttributes(Activity activity)
    {
        _activity = activity;
        _activityHasTags = true;
    }

    /// <summary>Attributes set on the Activity itself, where a key it already has keeps its value.</summary>
    public static SpanAttributes OnActivity(Activity activity) => new(activity);

    /// <summary>
    /// One attribute: a string, a boxed integer or boolean, or an array of strings. Nothing for a
    /// null value. A value boxed once and reused (a status code, a port) encodes faster than a new box.
    /// </summary>
    public void Add(string key, object? value)
    {
        if (value is null || (_activityHasTags && _activity.GetTagItem(key) is not null))
        {
            return;
        }

        if (_writer is null)
        {
            // The key was just looked for and is not there: added without SetTag's second search.
            _activity.AddTag(key, value);
            return;
        }

        if (_count.Count >= _count.Limit)
        {
            _count.Dropped++;
            return;
        }

        if (_keys!.WriteAttribute(_writer, 9, key, value)) // Span.attributes = 9
        {
            _count.Count++;
        }
        else
        {
            _count.Dropped++;
        }
    }
}
