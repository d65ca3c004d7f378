using Microsoft.ML.UFlow.Api.Data;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Spectre.Console;

namespace Microsoft.ML.UFlow.Cli.Commands;

/// <summary><c>uflow train</c>: fits the default U-Flow pipeline (load, resize, normalise, ONNX features, flow, NFA) and saves it.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "Training data: an MVTec AD category folder, a plain folder (normal/ ...), or the MTD folder (uses its split.txt).", Required = true };
        var backbone = new Option<FileInfo>("--backbone") { Description = "ONNX feature extractor (for example ../shared/models/mobilenetv2_1.0_imagenet_features.onnx).", Required = true };
        var layers = new Option<string?>("--layers") { Description = "Comma-separated model outputs to use, finest first (default: stride4,stride8,stride16 for MobileNetV2, layer1_act,layer2_act,layer3_act for ResNet-50 v2)." };
        var inputSize = new Option<int>("--input-size") { Description = "Square input size in pixels (multiple of 32).", DefaultValueFactory = _ => 256 };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs over the cached features.", DefaultValueFactory = _ => UFlowTrainer.Options.DefaultEpochs };
        var batch = new Option<int>("--batch") { Description = "Mini-batch size.", DefaultValueFactory = _ => 8 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 1e-4 };
        var seed = new Option<int>("--seed") { Description = "Seed for initialisation and shuffling.", DefaultValueFactory = _ => 0 };
        var output = new Option<FileInfo>("--out") { Description = "The model .zip to write.", Required = true };

        var cmd = new Command("train", "Train U-Flow on normal images and save the whole pipeline to one .zip.");
        foreach (var o in new Option[] { data, backbone, layers, inputSize, epochs, batch, lr, seed, output }) cmd.Options.Add(o);
        cmd.SetAction(parse => CliErrors.Run(() => Run(
            parse.GetValue(data)!, parse.GetValue(backbone)!, parse.GetValue(layers), parse.GetValue(inputSize), parse.GetValue(epochs),
            parse.GetValue(batch), parse.GetValue(lr), parse.GetValue(seed), parse.GetValue(output)!)));
        return cmd;
    }

    private static int Run(DirectoryInfo data, FileInfo backbone, string? layers, int inputSize, int epochs, int batch, double lr, int seed, FileInfo output)
    {
        var clock = Stopwatch.StartNew();
        var ctx = new UFlowContext(seed);
        var train = ctx.Data.LoadFromDirectory(data.FullName, DataSplit.Train);
        long count = train.GetRowCount() ?? 0;
        if (count == 0) throw new ArgumentException($"No training images found under '{data.FullName}'.");
        string[] outputs = DefaultPipeline.ResolveLayers(backbone.FullName, layers);
        AnsiConsole.MarkupLine($"[bold]uflow train[/]: {count} normal images from {Markup.Escape(data.FullName)}");
        AnsiConsole.MarkupLine($"backbone {Markup.Escape(backbone.Name)} [[{Markup.Escape(string.Join(", ", outputs))}]], input {inputSize}, epochs {epochs}, batch {batch}, lr {lr.ToString(CultureInfo.InvariantCulture)}, seed {seed}");

        var model = ConsoleProgress.Run(bars =>
        {
            var options = new UFlowTrainer.Options
            {
                Epochs = epochs,
                BatchSize = batch,
                LearningRate = lr,
                Seed = seed,
                Progress = new Reporter(bars),
            };
            var pipeline = DefaultPipeline.Create(ctx, backbone.FullName, outputs, inputSize, options);
            return pipeline.Fit(train);
        });
        ctx.Model.Save(model, train.Schema, output.FullName);
        var scorer = model.OfType<AnomalyScoreTransformer>().Single();
        AnsiConsole.MarkupLine($"final loss {scorer.TrainingSummary.FinalLoss.ToString("0.####", CultureInfo.InvariantCulture)}, score threshold {scorer.Threshold.ToString("0.######", CultureInfo.InvariantCulture)}");
        AnsiConsole.MarkupLine($"saved [green]{Markup.Escape(output.FullName)}[/] ({new FileInfo(output.FullName).Length / 1024} KiB) in {clock.Elapsed.TotalSeconds:0.0} s");
        return 0;
    }

    private sealed class Reporter(ProgressBars bars) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
            => bars.Report(value.Phase, value.Done, value.Total, value.Loss is double l ? $"(loss {l.ToString("0.###", CultureInfo.InvariantCulture)})" : null);
    }
}
