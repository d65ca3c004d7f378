using System.Text.Json;

namespace Microsoft.ML.UFlow.Tests.Metrics;

/// <summary>One golden case written by <c>test/golden/metrics_golden.py</c>.</summary>
internal sealed class MetricsFixture
{
    public required string Name { get; init; }
    public int Height { get; init; }
    public int Width { get; init; }
    public required float[][] Scores { get; init; }
    public required float[][] Masks { get; init; }
    public required float[][] Train { get; init; }
    public required JsonElement Expected { get; init; }

    public double Expect(string name) => Expected.GetProperty(name).GetDouble();

    public double[] ExpectArray(string name) => Expected.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();

    public static MetricsFixture Load(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Metrics", $"metrics_{name}.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        var images = root.GetProperty("images").EnumerateArray().ToArray();
        return new MetricsFixture
        {
            Name = root.GetProperty("name").GetString()!,
            Height = root.GetProperty("height").GetInt32(),
            Width = root.GetProperty("width").GetInt32(),
            // GetSingle parses the shortest float32 text straight to the float32 the script used.
            Scores = images.Select(i => i.GetProperty("scores").EnumerateArray().Select(e => e.GetSingle()).ToArray()).ToArray(),
            Masks = images.Select(i => i.GetProperty("mask").GetString()!.Select(c => c == '1' ? 1f : 0f).ToArray()).ToArray(),
            Train = root.GetProperty("train").EnumerateArray().Select(t => t.EnumerateArray().Select(e => e.GetSingle()).ToArray()).ToArray(),
            Expected = root.GetProperty("expected").Clone(),
        };
    }

    public static IEnumerable<object[]> Cases => [["continuous"], ["ties"], ["heavyties"]];
}
