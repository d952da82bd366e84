using System;

// Prints the runtime it runs on and exits with a code of its own, so a test can tell that the app
// ran unchanged.
Console.WriteLine("old runtime app on " + Environment.Version);
return 7;
