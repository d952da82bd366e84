namespace TraceAgent.Bench;

/// <summary>
/// A configuration and its baseline started at the same moment, sharing the machine, so that what
/// else runs weighs on both alike (the start-up and job parts). Which one is launched first
/// alternates from run to run.
/// </summary>
internal static class PairedStarts
{
    public static (T Base, T Test) Run<T>(int run, Configuration configuration, Func<Configuration, T> start)
    {
        var baseline = Configurations.Get(configuration.BaselineKey);
        Task<T> Launch(Configuration which) => Task.Factory.StartNew(() => start(which), TaskCreationOptions.LongRunning);

        Task<T> baseTask, testTask;
        if (run % 2 == 0)
        {
            baseTask = Launch(baseline);
            testTask = Launch(configuration);
        }
        else
        {
            testTask = Launch(configuration);
            baseTask = Launch(baseline);
        }

        Task.WaitAll(baseTask, testTask);
        return (baseTask.Result, testTask.Result);
    }
}
