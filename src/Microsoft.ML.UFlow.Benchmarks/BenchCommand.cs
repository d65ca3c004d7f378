using System.CommandLine;

namespace Microsoft.ML.UFlow.Benchmarks;

// ML.NET has a namespace Microsoft.ML.Command, which hides System.CommandLine's Command inside namespace Microsoft.ML.*.
using Command = System.CommandLine.Command;

/// <summary><c>uflow bench ...</c>: one sub-command per benchmark (each in its own file).</summary>
public static class BenchCommand
{
    /// <summary>Creates the <c>bench</c> command with its sub-commands (flow, csflow, quality, features, imaging, metrics, nfa).</summary>
    /// <param name="resolveLayers">
    /// The U-Flow layers of a backbone: given its path and the user's comma-separated <c>--layers</c> (null when not given),
    /// the outputs to use. <c>uflow train</c> passes its own rule, so that <c>bench quality</c> trains on the same layers.
    /// </param>
    public static Command Create(Func<string, string?, string[]> resolveLayers)
    {
        ArgumentNullException.ThrowIfNull(resolveLayers);
        var bench = new Command("bench", "Speed benchmarks (print ratios against references run in the same process or script).");
        bench.Subcommands.Add(FeaturesBenchCommand.Create());
        bench.Subcommands.Add(MetricsBenchCommand.Create());
        bench.Subcommands.Add(NfaBenchCommand.Create());
        bench.Subcommands.Add(NfaDiagnosticsBenchCommand.Create());
        bench.Subcommands.Add(ImagingBenchCommand.Create());
        bench.Subcommands.Add(CsFlowBenchCommand.Create());
        bench.Subcommands.Add(FlowBenchCommand.Create());
        bench.Subcommands.Add(QualityBenchCommand.Create(resolveLayers));
        return bench;
    }
}
