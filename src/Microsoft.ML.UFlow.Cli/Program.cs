using System.CommandLine;
using Microsoft.ML.UFlow.Cli.Bench;
using Microsoft.ML.UFlow.Cli.Commands;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>The <c>uflow</c> command: train, evaluate, predict, benchmark.</summary>
internal static class Program
{
    private static int Main(string[] args) => Run(args);

    /// <summary>Parses and runs one command line (the tests call this in-process); returns the exit code.</summary>
    internal static int Run(string[] args)
    {
        var root = new RootCommand("U-Flow / CS-Flow unsupervised anomaly detection: train, evaluate, predict, benchmark.");
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(PredictCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        return root.Parse(args).Invoke();
    }
}
