using System.CommandLine;

namespace Microsoft.ML.UFlow.Cli.Bench;

// ML.NET has a namespace Microsoft.ML.Command, which hides System.CommandLine's Command inside namespace Microsoft.ML.*.
using Command = System.CommandLine.Command;

/// <summary><c>uflow bench ...</c>: one sub-command per benchmark (each in its own file).</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Speed benchmarks (print ratios against references run in the same process or script).");
        bench.Subcommands.Add(FeaturesBenchCommand.Create());
        bench.Subcommands.Add(MetricsBenchCommand.Create());
        bench.Subcommands.Add(NfaBenchCommand.Create());
        bench.Subcommands.Add(NfaDiagnosticsBenchCommand.Create());
        bench.Subcommands.Add(ImagingBenchCommand.Create());
        bench.Subcommands.Add(CsFlowBenchCommand.Create());
        bench.Subcommands.Add(FlowBenchCommand.Create());
        bench.Subcommands.Add(QualityBenchCommand.Create());
        return bench;
    }
}
