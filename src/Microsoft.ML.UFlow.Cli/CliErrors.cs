using Spectre.Console;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>Turns failures (bad paths, bad models, bad data, diverged training) into one clear error line and exit code 1; UFLOW_DEBUG=1 adds the stack trace.</summary>
internal static class CliErrors
{
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            if (Environment.GetEnvironmentVariable("UFLOW_DEBUG") == "1") AnsiConsole.WriteException(e);
            return 1;
        }
    }
}
