using System.Diagnostics;

// A self-contained app: its own copy of the runtime, started as a native executable.
var source = new ActivitySource("TestApp.SelfContained");
using (var activity = source.StartActivity("self-contained-work"))
{
    activity?.SetTag("runtime.directory", Path.GetFileName(Path.GetDirectoryName(typeof(object).Assembly.Location)));
}

Console.WriteLine("self-contained done");
return 0;
