using Spectre.Console;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>Turns expected failures (bad paths, bad models, bad data) into one clear error line and exit code 1.</summary>
internal static class CliErrors
{
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException
                                      or Api.Persistence.ModelFormatException or Features.OnnxRuntimeException or InvalidOperationException)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            if (Environment.GetEnvironmentVariable("UFLOW_DEBUG") == "1") AnsiConsole.WriteException(e);
            return 1;
        }
    }
}
