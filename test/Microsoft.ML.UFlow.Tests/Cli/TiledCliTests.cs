using System.Text.Json;
using Microsoft.ML.UFlow.Cli.Commands;
using Microsoft.ML.UFlow.Tests.Infrastructure;
using SkiaSharp;

namespace Microsoft.ML.UFlow.Tests.Cli;

/// <summary>
/// <c>uflow train --tile 256 --overlap 32</c>: training on the tiles of full-resolution images, the tiling recorded in the
/// model, eval and predict stitching whole images at full resolution; one clear message for each bad setting.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class TiledCliTests
{
    [SharedDataFact]
    public void Train_on_tiles_then_eval_and_predict_at_full_resolution()
    {
        using var data = TinyBottle.Create();
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string model = Path.Combine(data.Root, "out", "tiled.zip");
        var (code, output) = CliRunner.Run("train", "--data", data.Dataset, "--backbone", backbone, "--tile", "256", "--overlap", "32",
            "--epochs", "1", "--batch", "8", "--held-out", "0", "--out", model);
        Assert.True(code == 0, output);
        Assert.Contains("tiles 256x256, overlap 32, at full resolution: 64 training tiles (16 per 900x900 image)", output);
        Assert.Contains("input 256x256 (W×H)", output);
        var facts = UFlowModelInfo.Read(model);
        Assert.Equal(new ImageTiling(256, 32), facts.Tiling);
        Assert.Equal((256, 256), (facts.MapHeight, facts.MapWidth));

        string json = Path.Combine(data.Root, "out", "metrics.json");
        string report = Path.Combine(data.Root, "out", "report");
        (code, output) = CliRunner.Run("eval", "--model", model, "--data", data.Dataset, "--json", json, "--report", report);
        Assert.True(code == 0, output);
        Assert.Contains("tiled model: 256x256 tiles, overlap 32", output);
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            var root = doc.RootElement;
            Assert.Equal((900, 900, 900, 900), (root.GetProperty("input_width").GetInt32(), root.GetProperty("input_height").GetInt32(),
                root.GetProperty("map_width").GetInt32(), root.GetProperty("map_height").GetInt32()));
            Assert.Equal((256, 32, 16), (root.GetProperty("tile_size").GetInt32(), root.GetProperty("tile_overlap").GetInt32(), root.GetProperty("tiles_per_image").GetInt32()));
            Assert.Equal(data.TestCount, root.GetProperty("n_images").GetInt32());
            Assert.InRange(root.GetProperty("pixel_auroc").GetDouble(), 0, 1);
            Assert.InRange(root.GetProperty("miou_nfa").GetDouble(), 0, 1);
        }
        string page = File.ReadAllText(Directory.GetFiles(report, "*.html").Single());
        Assert.Contains("stitched from 16 tiles of 256x256 (overlap 32)", page);
        Assert.Equal((900, 900), ImageSize(Directory.GetFiles(Path.Combine(report, "images"), "*_heat.png").First()));

        string predictions = Path.Combine(data.Root, "out", "pred");
        (code, output) = CliRunner.Run("predict", "--model", model, "--out", predictions, data.TestImages.First());
        Assert.True(code == 0, output);
        Assert.DoesNotContain("another aspect", output);
        Assert.Equal((900, 900), ImageSize(Directory.GetFiles(predictions, "*_mask.png").Single()));
        Assert.Equal((900, 900), ImageSize(Directory.GetFiles(predictions, "*_overlay.png").Single()));
    }

    [SharedDataFact]
    public void An_image_smaller_than_a_tile_and_bad_tile_settings_are_one_clear_message_each()
    {
        using var data = TinyBottle.Create(train: 1);
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string Out() => Path.Combine(data.Root, "x.zip");
        (int, string) Train(params string[] more) => CliRunner.Run(["train", "--data", data.Dataset, "--backbone", backbone, "--held-out", "0", "--out", Out(), .. more]);

        var (code, output) = Train("--tile", "1024");
        Assert.Equal(1, code);
        Assert.Contains("is 900x900 (W×H), smaller than one 1024x1024 tile", output);
        Assert.Contains("000.png", output);
        (code, output) = Train("--tile", "256", "--overlap", "256");
        Assert.Equal(1, code);
        Assert.Contains("--overlap 256 must be at least 0 and smaller than --tile 256", output);
        (code, output) = Train("--tile", "250");
        Assert.Equal(1, code);
        Assert.Contains("--tile 250 must be a positive multiple of 32", output);
        Assert.Contains("for example 224 or 256", output);
        (code, output) = Train("--overlap", "32");
        Assert.Equal(1, code);
        Assert.Contains("--overlap is the overlap of tiles: give --tile too", output);
        (code, output) = Train("--tile", "256", "--input-size", "256");
        Assert.Equal(1, code);
        Assert.Contains("--tile sets the model's input size", output);
        Assert.False(File.Exists(Out()));
        Assert.Contains("--tile is a U-Flow option", Assert.Throws<ArgumentException>(() => TrainSettings.Resolve("csflow", null, null, null, null, null, null, null, null, 0, tile: 256)).Message);
        Assert.Equal(new ImageTiling(256, TrainSettings.DefaultOverlap), TrainSettings.Resolve("uflow", "b.onnx", null, null, null, null, null, null, null, 0, tile: 256).Tiling);
    }

    private static (int Width, int Height) ImageSize(string path)
    {
        using var codec = SKCodec.Create(path);
        return (codec.Info.Width, codec.Info.Height);
    }
}
