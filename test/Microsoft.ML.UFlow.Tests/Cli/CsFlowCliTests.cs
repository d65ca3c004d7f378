using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.UFlow.Cli;
using Microsoft.ML.UFlow.Cli.Commands;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tests.Infrastructure;
using SkiaSharp;

namespace Microsoft.ML.UFlow.Tests.Cli;

/// <summary>
/// <c>uflow train --model csflow</c>, then <c>eval</c> and <c>predict</c> on the saved .zip, through the command code
/// (in-process); the rejection of the other model's options; and the U-Flow path of the same commands.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class CsFlowCliTests
{
    [Fact]
    public void CsFlowRejectsUFlowOnlyOptionsAndUFlowRejectsCsFlowOnlyOptions()
    {
        var layers = Assert.Throws<ArgumentException>(() => TrainSettings.Resolve("csflow", null, "stride4,stride8", null, null, null, null, null, null, 0));
        Assert.Contains("--layers is a U-Flow option", layers.Message);
        Assert.Contains("--layer", layers.Message);
        Assert.Contains("--hidden is a CS-Flow option", Assert.Throws<ArgumentException>(() => TrainSettings.Resolve("uflow", "b.onnx", null, null, 64, null, null, null, null, 0)).Message);
        Assert.Contains("--layer is a CS-Flow option", Assert.Throws<ArgumentException>(() => TrainSettings.Resolve("uflow", "b.onnx", null, "stride16", null, null, null, null, null, 0)).Message);
        Assert.Contains("--micro-batch is a U-Flow option", Assert.Throws<ArgumentException>(() => TrainSettings.Resolve("csflow", null, null, null, null, null, null, null, null, 0, microBatch: 4)).Message);
        Assert.Contains("--micro-batch must be at least 1", Assert.Throws<ArgumentOutOfRangeException>(() => TrainSettings.Resolve("uflow", "b.onnx", null, null, null, null, null, 23, null, 0, microBatch: 0)).Message);
        Assert.Equal(8, TrainSettings.Resolve("uflow", "b.onnx", null, null, null, null, null, 23, null, 0, microBatch: 8).MicroBatch);
        Assert.Null(TrainSettings.Resolve("uflow", "b.onnx", null, null, null, null, null, 23, null, 0).MicroBatch);
        Assert.Equal(Path.GetFullPath("c.ckpt"), TrainSettings.Resolve("csflow", null, null, null, null, null, null, null, null, 0, checkpoint: "c.ckpt").Checkpoint);
        Assert.Equal(Path.GetFullPath("c.ckpt"), TrainSettings.Resolve("uflow", "b.onnx", null, null, null, null, null, null, null, 0, checkpoint: "c.ckpt").Checkpoint);

        // Through the command line: exit code 1, the message, and no model written (the options are checked before any data is read).
        string dir = Path.Combine(Path.GetTempPath(), "uflow-cli-" + Guid.NewGuid().ToString("N"));
        string model = Path.Combine(dir, "m.zip");
        var (code, output) = CliRunner.Run("train", "--model", "csflow", "--layers", "stride16", "--data", dir, "--out", model);
        Assert.Equal(1, code);
        Assert.Contains("error: --layers is a U-Flow option", output);
        (code, output) = CliRunner.Run("train", "--hidden", "8", "--backbone", "b.onnx", "--data", dir, "--out", model);
        Assert.Equal(1, code);
        Assert.Contains("error: --hidden is a CS-Flow option", output);
        Assert.False(File.Exists(model));
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void DefaultsFollowTheModel()
    {
        var cs = TrainSettings.Resolve("csflow", null, null, null, null, null, null, null, null, 3);
        var official = new CsFlowTrainer.Options();
        Assert.Equal(ModelKind.CsFlow, cs.Kind);
        Assert.Equal((1024, 60, 16, 2e-4), (cs.Hidden, cs.Epochs, cs.Batch, cs.LearningRate));
        Assert.Equal((official.HiddenChannels, official.Epochs, official.BatchSize, official.LearningRate), (cs.Hidden, cs.Epochs, cs.Batch, cs.LearningRate));
        Assert.Equal(((InputSize?)null, 384, 64, (string?)null, 3), (cs.InputSize, cs.DefaultSide, cs.Stride, cs.Layer, cs.Seed)); // size from the images, layer from the backbone
        Assert.Equal(Path.GetFullPath(DefaultPipeline.CsFlowBackbone), cs.Backbone);

        var u = TrainSettings.Resolve("uflow", "b.onnx", null, null, null, null, null, null, null, 0);
        Assert.Equal(ModelKind.UFlow, u.Kind);
        Assert.Equal(((InputSize?)null, 256, 32, 32, 6, UFlowTrainer.Options.Defaults.LearningRate), (u.InputSize, u.DefaultSide, u.Stride, u.Batch, u.Epochs, u.LearningRate));
        Assert.Equal(Path.GetFullPath(DefaultPipeline.UFlowBackbone), TrainSettings.Resolve("uflow", null, null, null, null, null, null, null, null, 0).Backbone);

        var given = TrainSettings.Resolve("csflow", "x.onnx", null, "stride32", 8, 128, 2, 4, 1e-3, 0);
        Assert.Equal((8, (InputSize?)new InputSize(128, 128), 2, 4, 1e-3, "stride32"), (given.Hidden, given.InputSize, given.Epochs, given.Batch, given.LearningRate, given.Layer));
        Assert.Throws<ArgumentOutOfRangeException>(() => TrainSettings.Resolve("csflow", null, null, null, 0, null, null, null, null, 0));
    }

    [SharedDataFact]
    public void CsFlowLayerDefaultsToTheLinearOutputOfEachKnownBackbone()
    {
        string mobileNet = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string resNet = SharedData.File("models", "resnet50v2_imagenet_layer1-3.onnx")!;
        Assert.Equal("stride16", DefaultPipeline.ResolveCsFlowLayer(mobileNet, null));
        Assert.Equal("layer3", DefaultPipeline.ResolveCsFlowLayer(resNet, null)); // not layer3_act: its ReLU zeros
        Assert.Equal("layer3_act", DefaultPipeline.ResolveCsFlowLayer(resNet, " layer3_act "));
        Assert.Throws<FileNotFoundException>(() => DefaultPipeline.ResolveCsFlowLayer(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".onnx"), null));
    }

    [SharedDataFact]
    public void TrainEvalPredictRoundTripForCsFlow()
    {
        using var data = TinyBottle.Create();
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        // A neutral file name: the commands must find the model kind from the pipeline, not from the name.
        string model = Path.Combine(data.Root, "out", "model.zip");

        var (code, output) = CliRunner.Run("train", "--model", "csflow", "--data", data.Dataset, "--backbone", backbone,
            "--input-size", "128", "--hidden", "8", "--epochs", "1", "--batch", "2", "--out", model);
        Assert.True(code == 0, output);
        Assert.Contains("CS-Flow", output);
        Assert.Contains("final loss", output);
        Assert.True(File.Exists(model));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(model)!, "*.tmp"));

        // The saved pipeline is stock ML.NET: it loads in a fresh context; its facts say CS-Flow at three input scales of 128 px
        // (MobileNetV2's stride 16: 8, 4, 2), it resizes to 128 and has no NFA columns.
        var ml = new MLContext();
        var loaded = ml.Model.Load(model, out var inputSchema);
        var facts = UFlowModelInfo.Read(loaded);
        Assert.Equal("csflow", facts.Method);
        Assert.Equal([8, 4, 2], facts.Scales.Select(s => s.Height));
        Assert.Equal(CsFlowTrainer.Options.Defaults.OutputSize, facts.MapSize);
        Assert.True(facts.Threshold is float t && float.IsFinite(t));
        var outputSchema = loaded.GetOutputSchema(inputSchema);
        Assert.Equal(128, Assert.IsType<ImageDataViewType>(outputSchema[AnomalyColumns.Image].Type).Height);
        Assert.Null(outputSchema.GetColumnOrNull(AnomalyColumns.LogNfa));
        Assert.Null(outputSchema.GetColumnOrNull(AnomalyColumns.SegmentationMask));
        var caps = ModelCapabilities.Of(loaded, inputSchema, model);
        Assert.Equal(ModelKind.CsFlow, caps.Kind);
        Assert.False(caps.HasNfa);
        Assert.Equal((128, 128, facts.MapSize, facts.MapSize, facts.Threshold), (caps.InputWidth, caps.InputHeight, caps.MapHeight, caps.MapWidth, (float?)caps.Threshold));
        Assert.Equal((128, 128), (facts.InputWidth, facts.InputHeight)); // recorded from the Image column at training

        // eval: image AUROC and the map's pixel metrics, NFA metrics omitted with the line that says why.
        string json = Path.Combine(data.Root, "out", "metrics.json");
        string report = Path.Combine(data.Root, "out", "report");
        (code, output) = CliRunner.Run("eval", "--model", model, "--data", data.Dataset, "--json", json, "--report", report);
        Assert.True(code == 0, output);
        Assert.Contains("image_auroc", output);
        Assert.Contains("not available for CS-Flow models", output);
        Assert.DoesNotContain("miou_nfa", output);
        Assert.DoesNotContain("false_alarm_images", output);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.False(root.TryGetProperty("miou_nfa", out _));
        Assert.False(root.TryGetProperty("false_alarm_images", out _));
        Assert.Equal("csflow", root.GetProperty("model_kind").GetString());
        Assert.False(root.GetProperty("nfa_available").GetBoolean());
        Assert.Equal(data.TestCount, root.GetProperty("n_images").GetInt32());
        var types = root.GetProperty("per_defect_type").EnumerateArray().ToList();
        Assert.Equal(["good", "broken_large"], types.Select(t => t.GetProperty("defect_type").GetString()));
        Assert.Equal(root.GetProperty("image_auroc").GetDouble(), types[1].GetProperty("image_auroc").GetDouble(), 12);
        Assert.All(types, t => Assert.Equal(JsonValueKind.Null, t.GetProperty("miou_nfa").ValueKind)); // no segmentation
        Assert.All(types, t => Assert.InRange(t.GetProperty("flagged_images").GetInt32(), 0, 2));

        // The reported numbers against a reference computed here from the model's own outputs (Mann-Whitney U, ties ½), with
        // the ground truth prepared as the metrics see it (resized like the image to 128, then to the map's 256).
        var test = ml.Data.LoadAnomalyImages(data.Dataset, AnomalyImageSplit.Test);
        var scored = loaded.Transform(test);
        double[] scores = scored.GetColumn<float>(AnomalyColumns.Score).Select(v => (double)v).ToArray();
        bool[] labels = scored.GetColumn<float>(AnomalyColumns.Label).Select(v => v != 0).ToArray();
        Assert.Equal(ReferenceAuroc(scores, labels), root.GetProperty("image_auroc").GetDouble(), 12);
        var maps = scored.GetColumn<float[]>(AnomalyColumns.AnomalyMap).ToList();
        var masks = test.GetColumn<string>(AnomalyColumns.MaskPath).Select(path =>
        {
            var gt = new float[facts.MapSize * facts.MapSize];
            if (path.Length > 0) GroundTruthMask.Prepare(ImageDecoder.Decode(path), 128, facts.MapSize, gt);
            return gt;
        }).ToList();
        var pixelScores = maps.SelectMany(m => m.Select(v => (double)v)).ToArray();
        var pixelLabels = masks.SelectMany(m => m.Select(v => v > 0.5f)).ToArray();
        Assert.Equal(pixelScores.Length, pixelLabels.Length);
        Assert.Contains(true, pixelLabels);
        Assert.Equal(ReferenceAuroc(pixelScores, pixelLabels), root.GetProperty("pixel_auroc").GetDouble(), 9);
        foreach (string name in new[] { "aupro", "f1max_pixel" })
        {
            double v = root.GetProperty(name).GetDouble();
            Assert.InRange(v, 0, 1);
        }

        // The report: heat maps and ground truth, no NFA pictures, and the 'not available' note.
        string html = File.ReadAllText(Path.Combine(report, "index.html"));
        Assert.Contains("CS-Flow evaluation", html);
        Assert.Contains("not available for CS-Flow models", html);
        Assert.DoesNotContain("NFA segmentation contour", html);
        Assert.DoesNotContain("max -log10 NFA", html);
        Assert.Equal(data.TestCount, Directory.GetFiles(Path.Combine(report, "images"), "*_heat.png").Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(report, "images"), "*_nfa.png"));
        // The pictures draw those numbers: the ground-truth contour is the inner band of the metrics' mask, the heat map the
        // jet entry of every map value over the input, in the model's fixed range.
        for (int i = 0; i < maps.Count; i++)
        {
            string input = Path.Combine(report, "images", $"{i:D4}_input.png");
            ReportPictures.AssertContour(input, Path.Combine(report, "images", $"{i:D4}_gt.png"), masks[i].Select(v => v > 0.5f).ToArray(), new SKColor(0, 200, 0));
            ReportPictures.AssertHeatMap(input, Path.Combine(report, "images", $"{i:D4}_heat.png"), maps[i], caps.HeatMapMax);
        }

        // predict: score and verdict (score > threshold), an overlay per image, no mask.
        string predictions = Path.Combine(data.Root, "out", "pred");
        string[] images = data.TestImages.Take(2).ToArray();
        (code, output) = CliRunner.Run(["predict", "--model", model, "--out", predictions, .. images]);
        Assert.True(code == 0, output);
        Assert.Contains("score > threshold", output);
        Assert.Contains("not available for CS-Flow models", output);
        Assert.Equal(2, Directory.GetFiles(predictions, "*_overlay.png").Length);
        Assert.Empty(Directory.GetFiles(predictions, "*_mask.png"));
        float expected = (float)scores[test.GetColumn<string>(AnomalyColumns.ImagePath).ToList().IndexOf(images[0])];
        Assert.Contains(expected.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture), output);
    }

    [SharedDataTheory]
    [InlineData("uflow")]
    [InlineData("csflow")]
    public void TrainWithCheckpointContinuesToTheModelOfAnUninterruptedRun(string kind)
    {
        // train --checkpoint for 1 epoch, then the same command with 2 epochs continues it: the summary line (steps, final
        // loss, threshold) is that of 2 epochs at once; a third run with 2 epochs is refused, naming the checkpoint.
        using var data = TinyBottle.Create();
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string dir = Path.Combine(data.Root, "out"), checkpoint = Path.Combine(dir, "run.ckpt");
        string[] Args(int epochs, string model, params string[] extra) =>
        [
            "train", "--model", kind, "--data", data.Dataset, "--backbone", backbone, "--input-size", "64", "--batch", "2",
            "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", Path.Combine(dir, model),
            .. kind == "csflow" ? new[] { "--hidden", "8" } : new[] { "--held-out", "0" }, .. extra,
        ];
        static string Summary(string output) => output.Split('\n').Single(l => l.Contains("final loss")).Trim();

        var (code, straight) = CliRunner.Run(Args(2, "straight.zip"));
        Assert.True(code == 0, straight);
        (code, string first) = CliRunner.Run(Args(1, "first.zip", "--checkpoint", checkpoint));
        Assert.True(code == 0, first);
        Assert.Contains("saving the training state to " + checkpoint, first);
        Assert.True(File.Exists(checkpoint));
        (code, string resumed) = CliRunner.Run(Args(2, "resumed.zip", "--checkpoint", checkpoint));
        Assert.True(code == 0, resumed);
        Assert.Contains("continuing the training saved in " + checkpoint, resumed);
        Assert.StartsWith("2 epochs, 4 steps, final loss", Summary(straight));
        Assert.Equal(Summary(straight), Summary(resumed));
        Assert.Equal(UFlowModelInfo.Read(Path.Combine(dir, "straight.zip")).Threshold, UFlowModelInfo.Read(Path.Combine(dir, "resumed.zip")).Threshold);

        (code, string again) = CliRunner.Run(Args(2, "again.zip", "--checkpoint", checkpoint));
        Assert.Equal(1, code);
        Assert.Contains("already holds 2 epochs", again);
        Assert.False(File.Exists(Path.Combine(dir, "again.zip")));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [SharedDataFact]
    public void BenchCsFlowSavesAtEveryEvaluationAndWritesTheCurve()
    {
        // bench csflow --save writes the model whenever it scores the test split, so a run stopped early keeps its last
        // scored model; the curve has a row per epoch with the AUROC only where it evaluated.
        using var data = TinyBottle.Create();
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string model = Path.Combine(data.Root, "out", "cs.onnx");
        string csv = Path.Combine(data.Root, "out", "curve.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(model)!);
        // The bench verbs print to the process console (not the command's writer), so capture that; the unique temp path
        // keeps lines from tests running beside this one from counting.
        TextWriter console = Console.Out;
        var printed = new StringWriter();
        int code;
        Console.SetOut(TextWriter.Synchronized(printed));
        try
        {
            (code, _) = CliRunner.Run("bench", "csflow", "--data", data.Dataset, "--backbone", backbone, "--input-size", "64",
                "--hidden", "8", "--batch", "2", "--epochs", "3", "--eval-every", "2", "--save", model, "--csv", csv);
        }
        finally
        {
            Console.SetOut(console);
        }
        string output = printed.ToString();
        Assert.True(code == 0, output);
        Assert.True(output.Split('\n').Count(l => l.Contains("saved " + model)) == 2, output); // after epoch 2 and epoch 3
        // One defect type (broken_large): its AUROC against the normal images is the whole set's.
        var scored = System.Text.RegularExpressions.Regex.Matches(output, @"test image AUROC (\S+) \(.*per defect type broken_large (\S+);");
        Assert.Equal(2, scored.Count);
        Assert.All(scored, m => Assert.Equal(m.Groups[1].Value, m.Groups[2].Value));
        string[] rows = File.ReadAllLines(csv);
        Assert.Equal("epoch,loss,train_s,image_auroc,score_s,auroc_scale0,auroc_scale1,auroc_scale2", rows[0]);
        Assert.Equal(4, rows.Length);
        Assert.All(rows, r => Assert.Equal(8, r.Split(',').Length));
        string[][] aurocs = rows.Skip(1).Select(r => r.Split(',')).Select(c => new[] { c[3], c[5], c[6], c[7] }).ToArray();
        Assert.All(aurocs[0], v => Assert.Equal("", v)); // epoch 1: not evaluated
        foreach (string v in aurocs.Skip(1).SelectMany(a => a)) Assert.InRange(double.Parse(v, System.Globalization.CultureInfo.InvariantCulture), 0, 1); // epoch 2 (every 2) and 3 (last)
        // The saved model is the flow's ONNX graph, with what it was trained on in its metadata.
        var saved = Microsoft.ML.UFlow.Onnx.FlowModelFacts.Read(model);
        Assert.Equal(Microsoft.ML.UFlow.Onnx.FlowModelFacts.CsFlowMethod, saved.Method);
        Assert.Equal("3", saved.Properties["epochs_trained"]);
        Assert.Equal("mobilenetv2_1.0_imagenet_features.onnx:stride16", saved.Properties["backbone"]);
        Assert.Equal("64", saved.Properties["input_size"]);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(model)!, "*.tmp"));
    }

    [SharedDataFact]
    public void BenchCsFlowResumedRunContinuesTheCurve()
    {
        // 3 epochs at once, against 2 epochs with --checkpoint and then 3 with --resume: the same losses and AUROCs.
        using var data = TinyBottle.Create();
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string dir = Path.Combine(data.Root, "out");
        Directory.CreateDirectory(dir);
        string checkpoint = Path.Combine(dir, "run.ckpt");
        string[] Args(int epochs, string csv, params string[] extra) =>
        [
            "bench", "csflow", "--data", data.Dataset, "--backbone", backbone, "--input-size", "64", "--hidden", "8", "--batch", "2",
            "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--eval-every", "1", "--lr", "2e-3",
            "--csv", Path.Combine(dir, csv), .. extra,
        ];
        TextWriter console = Console.Out;
        var printed = new StringWriter();
        Console.SetOut(TextWriter.Synchronized(printed));
        int straight, first, second;
        try
        {
            (straight, _) = CliRunner.Run(Args(3, "straight.csv"));
            (first, _) = CliRunner.Run(Args(2, "resumed.csv", "--checkpoint", checkpoint));
            (second, _) = CliRunner.Run(Args(3, "resumed.csv", "--checkpoint", checkpoint, "--resume"));
        }
        finally
        {
            Console.SetOut(console);
        }
        string output = printed.ToString();
        Assert.True(straight == 0 && first == 0 && second == 0, output);
        Assert.Contains("2 epochs done", output);
        string[] expected = File.ReadAllLines(Path.Combine(dir, "straight.csv")), resumed = File.ReadAllLines(Path.Combine(dir, "resumed.csv"));
        Assert.Equal(4, expected.Length);
        Assert.Equal(expected.Length, resumed.Length);
        for (int row = 0; row < expected.Length; row++)
        {
            // All but the timings (train_s, score_s).
            string Kept(string line) => string.Join(",", line.Split(',').Where((_, c) => c is not (2 or 4)));
            Assert.Equal(Kept(expected[row]), Kept(resumed[row]));
        }
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [SharedDataFact]
    public void BenchCsFlowTimeLimitScoresTheLastEpochAndCanBeResumed()
    {
        // A limit that has passed by the end of epoch 1: the run stops there, scores that epoch (although --eval-every
        // would not), leaves a checkpoint of 1 epoch, and --resume finishes the 3 epochs.
        using var data = TinyBottle.Create();
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string dir = Path.Combine(data.Root, "out");
        Directory.CreateDirectory(dir);
        string checkpoint = Path.Combine(dir, "run.ckpt"), csv = Path.Combine(dir, "curve.csv");
        string[] Args(params string[] extra) =>
        [
            "bench", "csflow", "--data", data.Dataset, "--backbone", backbone, "--input-size", "64", "--hidden", "8", "--batch", "2",
            "--epochs", "3", "--eval-every", "0", "--lr", "2e-3", "--csv", csv, "--checkpoint", checkpoint, .. extra,
        ];
        TextWriter console = Console.Out;
        var printed = new StringWriter();
        Console.SetOut(TextWriter.Synchronized(printed));
        int first;
        string[] curveAfterStop;
        int second;
        try
        {
            (first, _) = CliRunner.Run(Args("--max-minutes", "1e-9"));
            curveAfterStop = File.ReadAllLines(csv);
            (second, _) = CliRunner.Run(Args("--resume"));
        }
        finally
        {
            Console.SetOut(console);
        }
        string output = printed.ToString();
        Assert.True(first == 0 && second == 0, output);
        Assert.Contains("stopped by --max-minutes 1E-09 after epoch 1 of 3", output);
        Assert.Contains("epochs=1/3 stopped_by=time-limit", output);
        Assert.Equal(2, curveAfterStop.Length);
        Assert.InRange(double.Parse(curveAfterStop[1].Split(',')[3], System.Globalization.CultureInfo.InvariantCulture), 0, 1); // scored at the stop
        Assert.Contains("1 epochs done", output);
        Assert.Contains("epochs=3/3 stopped_by=max-epochs", output);
        string[] curve = File.ReadAllLines(csv);
        Assert.Equal(4, curve.Length);
        Assert.Equal(curveAfterStop[1], curve[1]);
        Assert.Equal("", curve[2].Split(',')[3]); // epoch 2: neither the last nor at a limit
    }

    [SharedDataFact]
    public void UFlowModelsKeepTheirNfaResults()
    {
        // The same commands on a U-Flow .zip still report the NFA metrics, masks and contours.
        using var data = TinyBottle.Create();
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string model = Path.Combine(data.Root, "out", "model.zip");
        var (code, output) = CliRunner.Run("train", "--data", data.Dataset, "--backbone", backbone, "--input-size", "64", "--epochs", "1", "--batch", "4", "--held-out", "0", "--out", model);
        Assert.True(code == 0, output);
        Assert.Contains("U-Flow", output);

        string json = Path.Combine(data.Root, "out", "metrics.json");
        string report = Path.Combine(data.Root, "out", "report");
        (code, output) = CliRunner.Run("eval", "--model", model, "--data", data.Dataset, "--json", json, "--report", report);
        Assert.True(code == 0, output);
        Assert.DoesNotContain("not available", output);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.Equal("uflow", root.GetProperty("model_kind").GetString());
        Assert.True(root.GetProperty("nfa_available").GetBoolean());
        Assert.InRange(root.GetProperty("miou_nfa").GetDouble(), 0, 1);
        Assert.InRange(root.GetProperty("false_alarm_images").GetInt32(), 0, 2);
        Assert.Equal(data.TestCount, Directory.GetFiles(Path.Combine(report, "images"), "*_nfa.png").Length);
        string page = File.ReadAllText(Path.Combine(report, "index.html"));
        Assert.Contains("max -log10 NFA", page);

        // Per defect type: the normal images, then broken_large; the groups add up to the whole-set metrics.
        Assert.Contains("by defect type", output);
        Assert.Contains("<th>NFA detected</th>", page);
        var types = root.GetProperty("per_defect_type").EnumerateArray().ToList();
        Assert.Equal(["good", "broken_large"], types.Select(t => t.GetProperty("defect_type").GetString()));
        Assert.Equal([2, 2], types.Select(t => t.GetProperty("n_images").GetInt32()));
        Assert.Equal(root.GetProperty("false_alarm_images").GetInt32(), types[0].GetProperty("nfa_detected_images").GetInt32());
        double weighted = types.Sum(t => t.GetProperty("miou_nfa").GetDouble() * t.GetProperty("n_images").GetInt32()) / data.TestCount;
        Assert.Equal(root.GetProperty("miou_nfa").GetDouble(), weighted, 9);
        Assert.Equal(root.GetProperty("image_auroc").GetDouble(), types[1].GetProperty("image_auroc").GetDouble(), 12);
        Assert.Equal(JsonValueKind.Null, types[0].GetProperty("image_auroc").ValueKind);

        string predictions = Path.Combine(data.Root, "out", "pred");
        (code, output) = CliRunner.Run(["predict", "--model", model, "--out", predictions, data.TestImages.First()]);
        Assert.True(code == 0, output);
        string maskPng = Assert.Single(Directory.GetFiles(predictions, "*_mask.png"));
        string overlayPng = Assert.Single(Directory.GetFiles(predictions, "*_overlay.png"));

        // The pictures against the model's own outputs: the input picture is the model's Image column (64 × 64) scaled to the
        // map's 256 × 256; the NFA contour is the inner band of its segmentation mask.
        var ml = new MLContext();
        var loaded = ml.Model.Load(model, out _);
        var scored = loaded.Transform(ml.Data.LoadAnomalyImages(data.Dataset, AnomalyImageSplit.Test));
        var paths = scored.GetColumn<string>(AnomalyColumns.ImagePath).ToList();
        var maps = scored.GetColumn<float[]>(AnomalyColumns.AnomalyMap).ToList();
        var segmentations = scored.GetColumn<bool[]>(AnomalyColumns.SegmentationMask).ToList();
        Assert.Equal(256 * 256, maps[0].Length);
        int row = 0;
        foreach (MLImage seen in scored.GetColumn<MLImage>(AnomalyColumns.Image))
        {
            using (seen)
            {
                string input = Path.Combine(report, "images", $"{row:D4}_input.png");
                Assert.Equal((64, 64), (seen.Width, seen.Height));
                ReportPictures.AssertScaledFrom(ImageDecoder.FromMLImage(seen), input);
                ReportPictures.AssertContour(input, Path.Combine(report, "images", $"{row:D4}_nfa.png"), segmentations[row], new SKColor(255, 48, 48));
                ReportPictures.AssertHeatMap(input, Path.Combine(report, "images", $"{row:D4}_heat.png"), maps[row], 1f);
            }
            row++;
        }
        Assert.Equal(data.TestCount, row);
        int first = paths.IndexOf(data.TestImages.First());
        Assert.Equal(segmentations[first].Select(m => m ? (byte)255 : (byte)0), ImageDecoder.Decode(maskPng).ToGrey().Pixels);
        ReportPictures.AssertHeatMap(Path.Combine(report, "images", $"{first:D4}_input.png"), overlayPng, maps[first], 1f, segmentations[first], new SKColor(255, 48, 48));
    }

    /// <summary>AUROC by counting pairs (anomalous above normal = 1, tie = ½) over the sorted scores.</summary>
    private static double ReferenceAuroc(double[] scores, bool[] labels)
    {
        var order = Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ToArray();
        double pairs = 0, normalsBelow = 0;
        long positives = labels.Count(l => l), negatives = labels.Length - positives;
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end < order.Length && scores[order[end]] == scores[order[start]]) end++;
            double pos = 0, neg = 0;
            for (int k = start; k < end; k++) { if (labels[order[k]]) pos++; else neg++; }
            pairs += pos * normalsBelow + 0.5 * pos * neg;
            normalsBelow += neg;
            start = end;
        }
        return pairs / ((double)positives * negatives);
    }
}
