using System.Diagnostics;
using System.Text;

namespace Microsoft.ML.UFlow.Tests.Packaging;

/// <summary>
/// Runs <c>dotnet</c> or a built program as a child process with a time limit and returns its exit code and what it
/// printed (standard output and error, interleaved as they arrived). The MSBuild variables of the test host's own
/// environment are not passed on, so a child build is an ordinary command-line build.
/// </summary>
internal static class DotNetProcess
{
    /// <summary>The dotnet executable that runs these tests (DOTNET_HOST_PATH), else the one on the PATH.</summary>
    public static string DotNet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>Runs <paramref name="fileName"/> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>.</summary>
    /// <exception cref="TimeoutException">It ran past <paramref name="timeout"/> (it and its children are ended).</exception>
    public static (int ExitCode, string Output) Run(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        void Append(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
        }
        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"'{fileName} {string.Join(' ', arguments)}' ran past {timeout.TotalSeconds:F0} s:\n{output}");
        }
        process.WaitForExit(); // the end of the redirected streams
        lock (output) return (process.ExitCode, output.ToString());
    }
}
