using System.Collections;
using System.Diagnostics;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// A consumer span's one link (to the producer's context), handed to <c>StartActivity</c> as a
/// sequence of one: no array and no array enumerator per message. <c>StartActivity</c> enumerates
/// the links while it runs (the samplers read them, the new Activity copies them) and keeps none
/// of this object, so one instance per thread is reused; the enumerator is the object itself.
/// An array's enumerator over <see cref="ActivityLink"/> is also a framework generic that no
/// precompiled image holds: every process compiled it at its first consumed message.
/// </summary>
internal sealed class SingleLink : IEnumerable<ActivityLink>, IEnumerator<ActivityLink>
{
#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static SingleLink? t_instance;
#pragma warning restore IDE1006

    private ActivityLink _link;

    // -1 before the link, 0 on it, 1 after it; GetEnumerator starts every enumeration at -1.
    private int _position = -1;

    private SingleLink()
    {
    }

    public ActivityLink Current => _link;

    object IEnumerator.Current => _link;

    /// <summary>This thread's instance, holding a link to <paramref name="context"/>.</summary>
    public static SingleLink To(in ActivityContext context)
    {
        var link = t_instance ??= new SingleLink();
        link._link = new ActivityLink(context);
        return link;
    }

    public IEnumerator<ActivityLink> GetEnumerator()
    {
        _position = -1;
        return this;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool MoveNext()
    {
        if (_position < 1)
        {
            _position++;
        }

        return _position == 0;
    }

    public void Reset() => _position = -1;

    public void Dispose()
    {
    }
}
