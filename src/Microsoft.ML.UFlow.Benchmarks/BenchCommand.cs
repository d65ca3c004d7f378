using System.CommandLine;

namespace Microsoft.ML.UFlow.Benchmarks;

// ML.NET has a namespace Microsoft.ML.Command, which hides System.CommandLine's Command inside namespace Microsoft.ML.*.
using Command = System.CommandLine.Command;

/// <summary><c>uflow bench ...</c>: one sub-command per benchmark (each in its own file).</summary>
public static class BenchCommand
{
    /// <summary>Creates the <c>bench</c> command with its sub-commands (flow, csflow, quality, knn, features, imaging, metrics, nfa, nfa-diagnostics).</summary>
    /// <param name="uflow">
    /// U-Flow's featurisation as <c>uflow train</c> does it: <c>bench quality</c> trains on the same layers, and
    /// <c>bench knn</c> scores the same features at the same input size.
    /// </param>
    public static Command Create(UFlowFeatureDefaults uflow)
    {
        ArgumentNullException.ThrowIfNull(uflow);
        var bench = new Command("bench", "Speed benchmarks (print ratios against references run in the same process or script).");
        bench.Subcommands.Add(FeaturesBenchCommand.Create());
        bench.Subcommands.Add(MetricsBenchCommand.Create());
        bench.Subcommands.Add(NfaBenchCommand.Create());
        bench.Subcommands.Add(NfaDiagnosticsBenchCommand.Create());
        bench.Subcommands.Add(ImagingBenchCommand.Create());
        bench.Subcommands.Add(CsFlowBenchCommand.Create());
        bench.Subcommands.Add(FlowBenchCommand.Create());
        bench.Subcommands.Add(QualityBenchCommand.Create(uflow.ResolveLayers));
        bench.Subcommands.Add(KnnBenchCommand.Create(uflow));
        return bench;
    }
}
