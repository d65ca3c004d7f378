namespace Microsoft.ML.UFlow.Tests.Cli;

/// <summary>A wrong command line (a required option missing, an unknown option) gives one error line and exit code 1.</summary>
[Collection(CliCollection.Name)]
public sealed class UsageErrorCliTests
{
    [Fact]
    public void Train_without_data_gives_one_error_line_naming_the_option()
    {
        var (code, output) = CliRunner.Run("train", "--out", "model.zip");
        Assert.Equal(1, code);
        string line = Assert.Single(Lines(output));
        Assert.StartsWith("error:", line);
        Assert.Contains("'--data'", line);
        Assert.Contains("uflow train --help", line);
        Assert.False(File.Exists("model.zip"));
    }

    [Fact]
    public void Every_missing_option_and_an_unknown_one_share_the_one_line()
    {
        var (code, output) = CliRunner.Run("bench", "nfa", "--no-such-option");
        Assert.Equal(1, code);
        string line = Assert.Single(Lines(output));
        Assert.Contains("--no-such-option", line);
        Assert.Contains("uflow bench nfa --help", line);

        (code, output) = CliRunner.Run("train");
        Assert.Equal(1, code);
        line = Assert.Single(Lines(output));
        Assert.Contains("'--data'", line);
        Assert.Contains("'--out'", line);
    }

    [Fact]
    public void Help_is_not_an_error()
    {
        // System.CommandLine writes the help to the process's console, which CliRunner does not capture.
        var (code, output) = CliRunner.Run("train", "--help");
        Assert.Equal(0, code);
        Assert.DoesNotContain("error:", output);
    }

    [Fact]
    public void A_bare_uflow_shows_the_help_not_an_error()
    {
        var (code, output) = CliRunner.Run();
        Assert.Equal(0, code);
        Assert.DoesNotContain("error:", output);
    }

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
