using System.Text.Json;
using Microsoft.ML.UFlow.Cli;
using Microsoft.ML.UFlow.Cli.Commands;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tests.Infrastructure;
using SkiaSharp;

namespace Microsoft.ML.UFlow.Tests.Cli;

/// <summary>
/// Parts that are not square through <c>uflow</c>: <c>--input-size WxH</c>, the aspect-preserving default chosen from the
/// training images (printed and recorded in the model), eval and the report on a grid of the input's aspect, a warning
/// for images of another aspect, one clear message for a size that is not a multiple of the stride; and MTD's real mix
/// of sizes.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class RectangularCliTests
{
    [Fact]
    public void Input_sizes_parse_as_width_by_height_or_one_side_and_bad_ones_are_named()
    {
        Assert.Equal(new InputSize(320, 256), InputSize.Parse("320x256"));
        Assert.Equal(new InputSize(256, 256), InputSize.Parse("256"));
        Assert.Equal(new InputSize(96, 64), InputSize.Parse(" 96X64 "));
        foreach (string bad in new[] { "320x", "x256", "0x64", "-64", "64x64x3", "abc", "320.5x256" })
        {
            Assert.Contains("--input-size must be WIDTHxHEIGHT", Assert.Throws<ArgumentException>(() => InputSize.Parse(bad)).Message);
        }
        new InputSize(320, 256).Validate(32, "stride");
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new InputSize(300, 256).Validate(32, "the deepest stride of the backbone"));
        Assert.Contains("--input-size 300x256", e.Message);
        Assert.Contains("multiples of 32", e.Message);
        Assert.Contains("288x256", e.Message); // the nearest valid size, as a suggestion
        Assert.Contains("multiples of 64", Assert.Throws<ArgumentOutOfRangeException>(() => new InputSize(192, 160).Validate(64, "CS-Flow")).Message);
    }

    [Fact]
    public void The_default_keeps_the_median_aspect_at_about_the_default_pixel_count()
    {
        // Square images: exactly the square default (MVTec AD stays where it was).
        Assert.Equal((new InputSize(256, 256), 1.0), InputSize.FromAspect([(900, 900), (1024, 1024)], 256, 32));
        Assert.Equal(new InputSize(384, 384), InputSize.FromAspect([(700, 700)], 384, 64).Size);
        // 3:2 landscape: 256·√1.5 = 313.5 and 256/√1.5 = 209 lie between multiples of 32; 288x192 keeps the aspect
        // exactly with 16 % fewer pixels, where the nearest multiples, 320x224, would stretch it by 5 %.
        var (size, median) = InputSize.FromAspect([(900, 600), (600, 900), (1200, 800)], 256, 32);
        Assert.Equal((new InputSize(288, 192), 1.5), (size, median));
        // MTD's median aspect 0.868: 224x256 (0.875), not the nearest multiples 224x288 (0.778, 10 % off).
        Assert.Equal(new InputSize(224, 256), InputSize.FromAspect([(868, 1000)], 256, 32).Size);
        // Portrait, long: 500 wide, 1260 high.
        Assert.Equal(new InputSize(160, 416), InputSize.FromAspect([(500, 1260)], 256, 32).Size);
        // A very long strip keeps at least one stride on its short side.
        Assert.Equal(32, InputSize.FromAspect([(10000, 100)], 256, 32).Size.Height);
        Assert.Throws<ArgumentException>(() => InputSize.FromAspect([], 256, 32));
    }

    [SharedDataFact]
    public void Train_picks_the_aspect_eval_and_predict_work_on_its_grid_and_warn_about_square_images()
    {
        using var data = Crops.Create(); // bottle images cropped to 900x600
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string model = Path.Combine(data.Root, "out", "rect.zip");
        var (code, output) = CliRunner.Run("train", "--data", data.Dataset, "--backbone", backbone, "--epochs", "1", "--batch", "4", "--held-out", "0", "--out", model);
        Assert.True(code == 0, output);
        Assert.Contains("input size 288x192 (W×H) from the training images' median aspect 1.5 (1 distinct size)", output);
        Assert.Contains("input 288x192 (W×H)", output);
        var facts = UFlowModelInfo.Read(model);
        Assert.Equal((288, 192), (facts.InputWidth, facts.InputHeight));
        Assert.Equal((256, 384), (facts.MapHeight, facts.MapWidth)); // latents 48x72: shorter side 256, 256·72/48 = 384

        string json = Path.Combine(data.Root, "out", "metrics.json");
        string report = Path.Combine(data.Root, "out", "report");
        (code, output) = CliRunner.Run("eval", "--model", model, "--data", data.Dataset, "--json", json, "--report", report);
        Assert.True(code == 0, output);
        Assert.DoesNotContain("another aspect", output); // the test crops have the training aspect
        string page = File.ReadAllText(Directory.GetFiles(report, "*.html").Single());
        Assert.Contains("Pixel metrics at 384x256", page);
        Assert.Contains("img{height:192px;width:auto", page); // pictures shown at their own aspect, not squeezed square
        double evalMiou;
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            var root = doc.RootElement;
            Assert.Equal((288, 192, 384, 256), (root.GetProperty("input_width").GetInt32(), root.GetProperty("input_height").GetInt32(),
                root.GetProperty("map_width").GetInt32(), root.GetProperty("map_height").GetInt32()));
            Assert.InRange(root.GetProperty("pixel_auroc").GetDouble(), 0, 1);
            evalMiou = root.GetProperty("miou_nfa").GetDouble();
        }

        // nfa-diagnostics on the 384x256 grid: rerunning the segmentation from the latents gives the model's own detections and mIoU.
        string diagnostics = Path.Combine(data.Root, "out", "diagnostics.json");
        TextWriter console = Console.Out;
        Console.SetOut(TextWriter.Null); // the bench prints its tables to the process console
        try
        {
            (code, output) = CliRunner.Run("bench", "nfa-diagnostics", "--model", model, "--data", data.Dataset, "--json", diagnostics);
        }
        finally
        {
            Console.SetOut(console);
        }
        Assert.True(code == 0, output);
        using (var doc = JsonDocument.Parse(File.ReadAllText(diagnostics)))
        {
            var root = doc.RootElement;
            Assert.Equal(root.GetProperty("model_nfa_detected_defective").GetInt32(), root.GetProperty("recomputed_detected_defective").GetInt32());
            Assert.Equal(root.GetProperty("model_nfa_detected_normal").GetInt32(), root.GetProperty("recomputed_detected_normal").GetInt32());
            Assert.Equal(evalMiou, root.GetProperty("recomputed_miou").GetDouble(), 1e-9);
            // channels x height x width of each latent scale: the rectangular grids of a 288x192 input at strides 4, 8, 16.
            Assert.Equal(["x48x72", "x24x36", "x12x18"], root.GetProperty("scales").EnumerateArray().Select(e => e.GetProperty("shape").GetString()![e.GetProperty("shape").GetString()!.IndexOf('x')..]));
        }
        string heat = Directory.GetFiles(Path.Combine(report, "images"), "*_heat.png").First();
        Assert.Equal((384, 256), ImageSize(heat));

        // A square image given to a model of another aspect: one warning naming it, then the usual outputs.
        string square = Path.Combine(SharedData.Bottle!, "test", "good", "000.png");
        string cropped = data.TestImages.First();
        string predictions = Path.Combine(data.Root, "out", "pred");
        (code, output) = CliRunner.Run("predict", "--model", model, "--out", predictions, square, cropped);
        Assert.True(code == 0, output);
        Assert.Contains("warning: 1 of 2 images have another aspect than the model's input 288x192", output);
        Assert.Contains("000.png' is 900x900 (aspect 1)", output);
        Assert.Equal((384, 256), ImageSize(Directory.GetFiles(predictions, "*_overlay.png").First()));
        Assert.Equal((384, 256), ImageSize(Directory.GetFiles(predictions, "*_mask.png").First()));
    }

    [SharedDataFact]
    public void CsFlow_trains_and_evaluates_on_a_rectangular_input()
    {
        using var data = Crops.Create();
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string model = Path.Combine(data.Root, "out", "cs.zip");
        var (code, output) = CliRunner.Run("train", "--model", "csflow", "--data", data.Dataset, "--backbone", backbone, "--input-size", "192x128",
            "--hidden", "8", "--epochs", "1", "--batch", "2", "--out", model);
        Assert.True(code == 0, output);
        var facts = UFlowModelInfo.Read(model);
        Assert.Equal([(8, 12), (4, 6), (2, 3)], facts.Scales.Select(s => (s.Height, s.Width))); // stride16 of 128x192, 64x96, 32x48
        Assert.Equal((256, 384), (facts.MapHeight, facts.MapWidth));
        string json = Path.Combine(data.Root, "out", "cs.json");
        (code, output) = CliRunner.Run("eval", "--model", model, "--data", data.Dataset, "--json", json);
        Assert.True(code == 0, output);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.InRange(doc.RootElement.GetProperty("pixel_auroc").GetDouble(), 0, 1);
        Assert.Equal(384, doc.RootElement.GetProperty("map_width").GetInt32());
    }

    [SharedDataFact]
    public void A_size_that_is_not_a_multiple_of_the_stride_is_one_clear_message()
    {
        using var data = Crops.Create();
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        var (code, output) = CliRunner.Run("train", "--data", data.Dataset, "--backbone", backbone, "--input-size", "100x64", "--out", Path.Combine(data.Root, "x.zip"));
        Assert.Equal(1, code);
        Assert.Contains("--input-size 100x64: width and height must be positive multiples of 32", output);
        (code, output) = CliRunner.Run("train", "--data", data.Dataset, "--backbone", backbone, "--input-size", "96by64", "--out", Path.Combine(data.Root, "x.zip"));
        Assert.Equal(1, code);
        Assert.Contains("--input-size must be WIDTHxHEIGHT", output);
    }

    [SharedDataFact]
    public void A_pipeline_resizing_to_no_multiple_of_the_stride_fails_at_the_first_image_naming_the_size()
    {
        using var data = Crops.Create();
        var ml = new MLContext(seed: 0);
        IDataView train = ml.Data.LoadAnomalyImages(data.Dataset, AnomalyImageSplit.Train);
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        var log = new List<int>();
        var pipeline = ml.Transforms.LoadImages(AnomalyColumns.Image, imageFolder: null, inputColumnName: AnomalyColumns.ImagePath)
            .Append(ml.Transforms.ResizeImages(AnomalyColumns.Image, 72, 64)) // 72/16 = 4.5: stride16 gives 5 columns, stride8 9
            .Append(ml.Transforms.ApplyOnnxFeaturizer(AnomalyColumns.Features, AnomalyColumns.Image, backbone, ["stride4", "stride8", "stride16"]))
            .Append(ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1, HeldOutFraction = 0, Progress = new Progress(p => { if (p.Phase == "featurize") log.Add(p.Done); }) }));
        var e = Assert.Throws<ArgumentException>(() => pipeline.Fit(train));
        Assert.Contains("the feature maps of 72x64 images cannot form U-Flow's U", e.Message);
        Assert.Contains("multiples of the backbone's largest stride", e.Message);
        Assert.Empty(log); // refused at the first image, before any was counted as featurised
    }

    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    [SharedDataFact]
    public void MTD_real_sizes_get_one_aspect_preserving_size_and_a_pipeline_scores_them_on_its_grid()
    {
        var ml = new MLContext(seed: 0);
        IDataView train = ml.Data.LoadAnomalyImages(SharedData.Mtd!, AnomalyImageSplit.Train);
        var sizes = Microsoft.ML.Data.ColumnCursorExtensions.GetColumn<string>(train, AnomalyColumns.ImagePath).Select(Microsoft.ML.UFlow.Imaging.ImageDecoder.ReadSize).ToList();
        Assert.True(sizes.Distinct().Count() > 50, "MTD's training images come in many sizes");
        var (size, median) = InputSize.FromAspect(sizes, 256, 32);
        Assert.Equal(0, size.Width % 32);
        Assert.Equal(0, size.Height % 32);
        Assert.InRange(size.Width * size.Height, 0.75 * 256 * 256, 1.3 * 256 * 256);
        Assert.InRange(size.Aspect / median, 0.95, 1.05);

        // A few images of different sizes through the pipeline at that size: maps and masks on the grid of its aspect.
        var few = ml.Data.TakeRows(train, 4);
        IDataView test = ml.Data.LoadAnomalyImages(SharedData.Mtd!, AnomalyImageSplit.Test);
        var anomalous = ml.Data.TakeRows(ml.Data.FilterRowsByColumn(test, AnomalyColumns.Label, lowerBound: 0.5), 3);
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        var pipeline = ml.Transforms.LoadImages(AnomalyColumns.Image, imageFolder: null, inputColumnName: AnomalyColumns.ImagePath)
            .Append(ml.Transforms.ResizeImages(AnomalyColumns.Image, size.Width, size.Height, resizing: Microsoft.ML.Transforms.Image.ImageResizingEstimator.ResizingKind.Fill))
            .Append(ml.Transforms.ApplyOnnxFeaturizer(AnomalyColumns.Features, AnomalyColumns.Image, backbone, ["stride4", "stride8", "stride16"]))
            .Append(ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1, BatchSize = 4, HeldOutFraction = 0 }))
            .Append(ml.Transforms.SegmentWithNfa());
        ITransformer fitted = pipeline.Fit(few);
        var facts = UFlowModelInfo.Read(fitted);
        Assert.Equal((size.Width, size.Height), (facts.InputWidth, facts.InputHeight));
        Assert.Equal(256, Math.Min(facts.MapHeight, facts.MapWidth));
        Assert.InRange((double)facts.MapWidth / facts.MapHeight / size.Aspect, 0.98, 1.02);
        var scored = fitted.Transform(anomalous);
        Assert.All(Microsoft.ML.Data.ColumnCursorExtensions.GetColumn<float[]>(scored, AnomalyColumns.AnomalyMap), m => Assert.Equal(facts.MapHeight * facts.MapWidth, m.Length));
        var metrics = ml.AnomalyDetection.EvaluateSegmentation(scored);
        Assert.Equal(3, metrics.ImageCount);
        Assert.True(metrics.AnomalousPixelCount > 0);
    }

    private static (int Width, int Height) ImageSize(string path)
    {
        using var codec = SKCodec.Create(path);
        return (codec.Info.Width, codec.Info.Height);
    }

    /// <summary>The tiny bottle with every image and mask cropped to rows 150..749 (900x600).</summary>
    private sealed class Crops : IDisposable
    {
        private readonly TinyBottle _bottle;

        private Crops(TinyBottle bottle) => _bottle = bottle;

        public string Root => _bottle.Root;

        public string Dataset => _bottle.Dataset;

        public IEnumerable<string> TestImages => _bottle.TestImages;

        public static Crops Create()
        {
            var bottle = TinyBottle.Create();
            foreach (string path in Directory.GetFiles(bottle.Dataset, "*.png", SearchOption.AllDirectories))
            {
                using SKBitmap source = ImageDecoder.DecodeToBitmap(path);
                using var cropped = new SKBitmap(new SKImageInfo(source.Width, 600, source.ColorType, source.AlphaType));
                Assert.True(source.ExtractSubset(cropped, new SKRectI(0, 150, source.Width, 750)));
                using var copy = cropped.Copy();
                PngEncoder.Save(copy, path);
            }
            return new Crops(bottle);
        }

        public void Dispose() => _bottle.Dispose();
    }
}
