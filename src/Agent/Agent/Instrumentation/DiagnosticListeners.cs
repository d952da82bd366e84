using System.Diagnostics;
using TraceAgent.Diagnostics;

namespace TraceAgent.Instrumentation;

/// <summary>
/// Subscribes an observer to the DiagnosticListener of a given name, whenever it is created, for
/// the events the predicate enables. Events are delivered inside a try/catch that reports a fault
/// instead of letting it reach the app's code that wrote the event.
/// </summary>
public static class DiagnosticListeners
{
    public static IDisposable Subscribe(string listenerName, Predicate<string> isEnabled, Action<string, object?> onEvent, string faultSite)
    {
        var subscriber = new Subscriber(listenerName, isEnabled, new EventObserver(onEvent, faultSite));
        subscriber.Add(DiagnosticListener.AllListeners.Subscribe(subscriber));
        return subscriber;
    }

    private sealed class Subscriber(string name, Predicate<string> isEnabled, EventObserver observer) : IObserver<DiagnosticListener>, IDisposable
    {
        private readonly List<IDisposable> _subscriptions = [];

        public void Add(IDisposable subscription)
        {
            lock (_subscriptions)
            {
                _subscriptions.Add(subscription);
            }
        }

        public void OnNext(DiagnosticListener value)
        {
            if (value.Name == name)
            {
                Add(value.Subscribe(observer, isEnabled));
            }
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void Dispose()
        {
            lock (_subscriptions)
            {
                foreach (var subscription in _subscriptions)
                {
                    subscription.Dispose();
                }

                _subscriptions.Clear();
            }
        }
    }

    private sealed class EventObserver(Action<string, object?> onEvent, string faultSite) : IObserver<KeyValuePair<string, object?>>
    {
        public void OnNext(KeyValuePair<string, object?> value)
        {
            try
            {
                onEvent(value.Key, value.Value);
            }
            catch (Exception ex)
            {
                AgentFaults.Report(faultSite + " " + value.Key, ex);
            }
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }
}
