using System.Text.Json;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Cli;

/// <summary><c>uflow bench knn</c>: a run on a tiny copy of bottle, and one clear error line for bad input.</summary>
[Collection(CliCollection.Name)]
public sealed class KnnBenchCliTests
{
    [SharedDataFact]
    public void A_tiny_run_writes_the_metrics_and_the_per_type_table()
    {
        using var data = TinyBottle.Create();
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string json = Path.Combine(data.Root, "knn.json");
        var (code, output) = Run("bench", "knn", "--data", data.Dataset, "--backbone", backbone, "--input-size", "64", "--bank-fraction", "0.01", "--per-scale", "--json", json);
        Assert.True(code == 0, output);

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement r = doc.RootElement;
        foreach (string name in new[] { "image_auroc", "pixel_auroc", "aupro" }) Assert.InRange(r.GetProperty(name).GetDouble(), 0, 1);
        Assert.Equal(4, r.GetProperty("n_images").GetInt32());
        Assert.Equal(256, r.GetProperty("map_width").GetInt32()); // the map grid of a square input: 256×256, as uflow eval
        // 4 images × max(1, round(0.01 · H·W)) at 16×16, 8×8 and 4×4.
        Assert.Equal([12, 4, 4], r.GetProperty("bank_sizes").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(3, r.GetProperty("per_scale").GetArrayLength());
        Assert.Equal(["good", "broken_large"], r.GetProperty("per_defect_type").EnumerateArray().Select(t => t.GetProperty("defect_type").GetString()));
        Assert.Contains("pixel_auroc", output);
    }

    [Fact]
    public void An_empty_training_folder_gives_one_error_line()
    {
        string root = Path.Combine(Path.GetTempPath(), "uflow-knn-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(root, "train", "good"));
        Directory.CreateDirectory(Path.Combine(root, "test", "good"));
        try
        {
            var (code, output) = Run("bench", "knn", "--data", root, "--backbone", Path.Combine(root, "none.onnx"));
            Assert.Equal(1, code);
            string line = Assert.Single(Lines(output));
            Assert.StartsWith("error:", line);
            Assert.Contains("training (train/good) folder", line);
            Assert.Contains("contains no image files", line);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [SharedDataFact]
    public void A_missing_backbone_gives_one_error_line_naming_it()
    {
        using var data = TinyBottle.Create();
        string backbone = Path.Combine(data.Root, "no-such-backbone.onnx");
        var (code, output) = Run("bench", "knn", "--data", data.Dataset, "--backbone", backbone);
        Assert.Equal(1, code);
        string line = Assert.Single(Lines(output));
        Assert.StartsWith("error:", line);
        Assert.Contains($"Backbone '{backbone}' does not exist", line);
    }

    // The bench prints to the process console; the errors go to Spectre.Console (CliRunner): both are returned.
    private static (int Code, string Output) Run(params string[] args)
    {
        TextWriter console = Console.Out;
        var printed = new StringWriter();
        Console.SetOut(TextWriter.Synchronized(printed));
        try
        {
            var (code, errors) = CliRunner.Run(args);
            return (code, errors + printed);
        }
        finally
        {
            Console.SetOut(console);
        }
    }

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
