using System.Globalization;
using TraceAgent.Instrumentation.ConfluentKafka;

namespace TraceAgent.Tests.Instrumentations.ConfluentKafka;

// The glue between Confluent.Kafka's delegate fields (private delegate types, internal enums) and
// the agent's shims: bound directly where the runtime accepts the two signatures as they are (an
// enum as its integer among them), and bridged by an emitted method only where it does not (a
// reference the method takes as a narrower type than the delegate passes); either way every
// argument and the result arrive unchanged.
public sealed class DelegateAdapterTests
{
    private delegate void ThreePointers(nint rk, nint message, nint opaque);

    private delegate void TakesCallback(nint conf, ThreePointers callback);

    private delegate Kind KindOf(Kind kind, nint value);

    private enum Kind
    {
        Producer = 1,
        Consumer = 7,
    }

    [Fact]
    public void The_same_signature_is_bound_directly()
    {
        var recorder = new Recorder();
        var method = typeof(Recorder).GetMethod(nameof(Recorder.Three))!;

        var adapted = (ThreePointers)DelegateAdapter.Create(typeof(ThreePointers), recorder, method);
        adapted(1, 2, 3);

        Assert.Same(method, adapted.Method);
        Assert.Equal(["three 1 2 3"], recorder.Calls);
    }

    [Fact]
    public void A_callback_parameter_taken_as_a_delegate_is_bound_directly_and_passed_as_it_is()
    {
        var recorder = new Recorder();
        var method = typeof(Recorder).GetMethod(nameof(Recorder.Callback))!;
        ThreePointers callback = (_, _, _) => { };

        var adapted = (TakesCallback)DelegateAdapter.Create(typeof(TakesCallback), recorder, method);
        adapted(42, callback);

        Assert.Same(method, adapted.Method);
        Assert.Same(callback, recorder.Callbacks.Single());
        Assert.Equal(["callback 42"], recorder.Calls);
    }

    [Fact]
    public void An_enum_taken_as_its_integer_is_bound_directly_both_ways()
    {
        var recorder = new Recorder();
        var method = typeof(Recorder).GetMethod(nameof(Recorder.KindOf))!;

        var adapted = (KindOf)DelegateAdapter.Create(typeof(KindOf), recorder, method);
        var result = adapted(Kind.Consumer, 5);

        Assert.Same(method, adapted.Method);
        Assert.Equal(Kind.Consumer + 1, result);
        Assert.Equal(["kind 7 5"], recorder.Calls);
    }

    [Fact]
    public void A_delegate_passing_a_base_type_to_a_method_taking_a_derived_one_is_bridged_by_an_emitted_cast()
    {
        var recorder = new Recorder();
        var original = new TakesCallback(recorder.TypedCallback);
        ThreePointers callback = (_, _, _) => { };

        var invoker = DelegateAdapter.Invoker<Action<nint, Delegate>>(original);
        invoker(42, callback);

        Assert.StartsWith("TraceAgentKafka_", invoker.Method.Name, StringComparison.Ordinal);
        Assert.Same(callback, recorder.Callbacks.Single());
        Assert.Equal(["typed callback 42"], recorder.Calls);
    }

    [Fact]
    public void An_invoker_of_a_one_method_delegate_is_that_method_bound_again_with_its_target()
    {
        var recorder = new Recorder();
        var original = new ThreePointers(recorder.Three);

        var invoker = DelegateAdapter.Invoker<Action<nint, nint, nint>>(original);
        invoker(7, 8, 9);

        Assert.Same(typeof(Recorder).GetMethod(nameof(Recorder.Three)), invoker.Method);
        Assert.Same(recorder, invoker.Target);
        Assert.Equal(["three 7 8 9"], recorder.Calls);
    }

    [Fact]
    public void An_invoker_of_a_static_method_delegate_calls_the_static_method_with_an_enum_as_its_integer()
    {
        KindOf original = Twice;

        var invoker = DelegateAdapter.Invoker<Func<int, nint, int>>(original);

        Assert.Same(typeof(DelegateAdapterTests).GetMethod(nameof(Twice), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static), invoker.Method);
        Assert.Equal(14, invoker((int)Kind.Consumer, 0));
    }

    [Fact]
    public void An_invoker_of_a_delegate_with_two_targets_calls_both_through_it()
    {
        var first = new Recorder();
        var second = new Recorder();
        var original = new ThreePointers(first.Three) + new ThreePointers(second.Three);

        var invoker = DelegateAdapter.Invoker<Action<nint, nint, nint>>(original);
        invoker(1, 2, 3);

        Assert.Equal(["three 1 2 3"], first.Calls);
        Assert.Equal(["three 1 2 3"], second.Calls);
    }

    [Fact]
    public void Signatures_that_differ_at_the_il_level_are_refused()
    {
        var recorder = new Recorder();
        var method = typeof(Recorder).GetMethod(nameof(Recorder.Callback))!;

        Assert.Throws<ArgumentException>(() => DelegateAdapter.Create(typeof(KindOf), recorder, method));
    }

    private static Kind Twice(Kind kind, nint value) => (Kind)((int)kind * 2);

    private sealed class Recorder
    {
        public List<string> Calls { get; } = [];

        public List<Delegate> Callbacks { get; } = [];

        public void Three(nint rk, nint message, nint opaque) =>
            Calls.Add(string.Create(CultureInfo.InvariantCulture, $"three {rk} {message} {opaque}"));

        public void Callback(nint conf, Delegate callback)
        {
            Callbacks.Add(callback);
            Calls.Add(string.Create(CultureInfo.InvariantCulture, $"callback {conf}"));
        }

        public void TypedCallback(nint conf, ThreePointers callback)
        {
            Callbacks.Add(callback);
            Calls.Add(string.Create(CultureInfo.InvariantCulture, $"typed callback {conf}"));
        }

        public int KindOf(int kind, nint value)
        {
            Calls.Add(string.Create(CultureInfo.InvariantCulture, $"kind {kind} {value}"));
            return kind + 1;
        }
    }
}
