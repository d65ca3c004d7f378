using Microsoft.ML.UFlow.Cli;
using Spectre.Console;

namespace Microsoft.ML.UFlow.Tests.Cli;

/// <summary>
/// Runs a <c>uflow</c> command line in-process (<see cref="Program.Run"/>) with Spectre.Console redirected to a string,
/// so that the tests see the exit code and what the user would read. The console is process-wide, so every CLI test
/// belongs to the <see cref="CliCollection"/> (run one at a time).
/// </summary>
internal static class CliRunner
{
    private static readonly Lock s_gate = new();

    public static (int ExitCode, string Output) Run(params string[] args)
    {
        lock (s_gate)
        {
            var writer = new StringWriter();
            var previous = AnsiConsole.Console;
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
                Out = new AnsiConsoleOutput(writer),
            });
            console.Profile.Width = 400; // no wrapping inside the messages the tests look for
            AnsiConsole.Console = console;
            try
            {
                int code = Program.Run(args);
                return (code, writer.ToString());
            }
            finally
            {
                AnsiConsole.Console = previous;
            }
        }
    }
}

/// <summary>The CLI tests share the process-wide console, so they run sequentially.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliCollection
{
    /// <summary>The collection name.</summary>
    public const string Name = "uflow CLI";
}
