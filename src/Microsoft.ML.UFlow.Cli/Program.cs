using System.CommandLine;
using System.CommandLine.Parsing;
using Microsoft.ML.UFlow.Benchmarks;
using Microsoft.ML.UFlow.Cli.Commands;
using Spectre.Console;

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
        root.Subcommands.Add(BenchCommand.Create(DefaultPipeline.ForBenches()));
        ParseResult parsed = root.Parse(args.Length == 0 ? ["--help"] : args); // a bare `uflow` shows the commands
        if (parsed.Errors.Count > 0) return UsageError(parsed);
        // Any command's failure is one error line (CliErrors), the benches' too (they are in their own assembly).
        return CliErrors.Run(() => parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
    }

    // A wrong command line gets one error line, as every other failure (CliErrors), not the errors followed by the
    // whole help text; the line says where the options are listed.
    private static int UsageError(ParseResult parsed)
    {
        var names = new List<string>();
        for (SymbolResult? r = parsed.CommandResult; r is CommandResult c && c.Parent is not null; r = c.Parent)
            names.Insert(0, c.Command.Name);
        string command = string.Join(' ', ["uflow", .. names]);
        string errors = string.Join(" ", parsed.Errors.Select(e => e.Message));
        AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(errors)} ('{Markup.Escape(command)} --help' lists the options.)");
        return 1;
    }
}
