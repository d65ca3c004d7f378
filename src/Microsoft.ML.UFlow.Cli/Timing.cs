using System.Diagnostics;
using System.Globalization;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>Wall time plus the process's CPU time, so that runs on a shared (busy) machine can still be judged.</summary>
internal static class Timing
{
    public static string Describe(Stopwatch wall)
    {
        double cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        return string.Create(CultureInfo.InvariantCulture, $"{wall.Elapsed.TotalSeconds:0.0} s wall ({cpu:0.0} s CPU over {Environment.ProcessorCount} cores)");
    }
}
