using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Data;
using Spectre.Console;
using Microsoft.ML.UFlow.Data;

namespace Microsoft.ML.UFlow.Cli.Commands;

// ML.NET has a namespace Microsoft.ML.Command, which hides System.CommandLine's Command inside namespace Microsoft.ML.*.
using Command = System.CommandLine.Command;

/// <summary>
/// <c>uflow train</c>: fits the default U-Flow pipeline (load, resize, normalise, ONNX features, flow, NFA) or, with
/// <c>--model csflow</c>, the CS-Flow pipeline (one ONNX output at three input scales, CS-Flow), and saves it to one
/// ordinary ML.NET .zip (written to a temporary file beside the target, then renamed) whose input column is <c>ImagePath</c>.
/// </summary>
internal static class TrainCommand
{
    private static readonly CsFlowTrainer.Options s_csFlowDefaults = new();

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The model to train: uflow (U-Flow with NFA segmentation) or csflow (CS-Flow, image score and localisation map).", DefaultValueFactory = _ => "uflow" };
        model.AcceptOnlyFromAmong("uflow", "csflow");
        var data = new Option<DirectoryInfo>("--data") { Description = "Training data: an MVTec AD category folder, a plain folder (normal/ ...), or the MTD folder (uses its split.txt).", Required = true };
        var backbone = new Option<FileInfo?>("--backbone") { Description = $"ONNX feature extractor (default: uflow {DefaultPipeline.UFlowBackbone}, csflow {DefaultPipeline.CsFlowBackbone}; relative to the working directory)." };
        var layers = new Option<string?>("--layers") { Description = "uflow only: comma-separated model outputs to use, finest first (default: stride4,stride8,stride16 for MobileNetV2, layer1_act,layer2_act,layer3_act for ResNet-50 v2)." };
        var layer = new Option<string?>("--layer") { Description = $"csflow only: the one backbone output computed at the three input scales (default {DefaultPipeline.CsFlowLayer} for MobileNetV2, layer3 for ResNet-50 v2)." };
        var hidden = new Option<int?>("--hidden") { Description = $"csflow only: hidden width of the cross-scale subnetworks (default {s_csFlowDefaults.HiddenChannels}, CS-Flow's)." };
        var inputSize = new Option<string?>("--input-size") { Description = $"Input WIDTHxHEIGHT in pixels (e.g. 320x256), or one side for a square (e.g. 256); uflow: multiples of {DefaultPipeline.UFlowStride}, csflow: multiples of {DefaultPipeline.CsFlowStride}. Default: the training images' median aspect at about {TrainSettings.UFlowInputSize}² pixels (csflow {DefaultPipeline.CsFlowInputSize}²; METHOD.md C.1 uses 768 for MVTec AD and 384 for MTD), rounded to those multiples: square images give {TrainSettings.UFlowInputSize}x{TrainSettings.UFlowInputSize}." };
        var tile = new Option<int?>("--tile") { Description = $"uflow only, opt-in for high resolution: train on TILExTILE tiles cut from every image at its full resolution (each tile a training row; a multiple of {DefaultPipeline.UFlowStride}, replaces --input-size); eval and predict then stitch whole images from tiles (maps at full resolution, the NFA's number of tests counting every tile)." };
        var overlap = new Option<int?>("--overlap") { Description = $"With --tile: pixels neighbouring tiles share (default {TrainSettings.DefaultOverlap}; the last tile of a row or column is aligned to the border)." };
        var epochs = new Option<int?>("--epochs") { Description = $"Training epochs over the cached features (default: uflow at most {TrainSettings.UFlowEpochs}, see --patience; csflow {s_csFlowDefaults.Epochs})." };
        var batch = new Option<int?>("--batch") { Description = $"Mini-batch size (default: uflow {TrainSettings.UFlowBatch}, csflow {s_csFlowDefaults.BatchSize})." };
        var microBatch = new Option<int?>("--micro-batch") { Description = "uflow only: samples per forward/backward pass; a larger --batch is trained as micro-batches whose gradients are accumulated before its one optimiser step (same updates, less memory; default: the whole batch)." };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Save the training state to this file after every epoch; if it exists, continue the training it holds (same options and images) instead of starting anew." };
        var heldOut = new Option<double?>("--held-out") { Description = $"uflow only: share of the normal training images held out from training, to evaluate the flow on after every epoch (loss, mean z² per scale) and to calibrate or stop on (default {F(UFlowTrainer.Options.Defaults.HeldOutFraction)}; at least 4 images; 0 trains on all, the paper's way)." };
        var calibration = new Option<string?>("--calibration") { Description = "uflow only: NFA latent calibration: none (the paper's) or held-out (each scale's NFA statistic divided by its held-out mean z², METHOD.md A.7.8; the anomaly map and score do not change). Default: held-out, or none with --held-out 0." };
        calibration.AcceptOnlyFromAmong(TrainSettings.CalibrationNames);
        var patience = new Option<int?>("--patience") { Description = $"uflow only: stop when the held-out loss has not improved for this many epochs and keep the best epoch's weights (--epochs stays the maximum; default {TrainSettings.UFlowPatience}, or 0: off with --held-out 0)." };
        var lr = new Option<double?>("--lr") { Description = $"Adam learning rate (default: uflow {F(UFlowTrainer.Options.Defaults.LearningRate)}, csflow {F(s_csFlowDefaults.LearningRate)})." };
        var seed = new Option<int>("--seed") { Description = "Seed for initialisation and shuffling.", DefaultValueFactory = _ => 0 };
        var output = new Option<FileInfo>("--out") { Description = "The model .zip to write.", Required = true };

        var cmd = new Command("train", "Train U-Flow (default) or CS-Flow (--model csflow) on normal images and save the whole pipeline to one .zip.");
        foreach (var o in new Option[] { model, data, backbone, layers, layer, hidden, inputSize, tile, overlap, epochs, batch, microBatch, checkpoint, heldOut, calibration, patience, lr, seed, output }) cmd.Options.Add(o);
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            var settings = TrainSettings.Resolve(parse.GetValue(model)!, parse.GetValue(backbone)?.FullName, parse.GetValue(layers), parse.GetValue(layer),
                parse.GetValue(hidden), parse.GetValue(inputSize) is string size ? InputSize.Parse(size) : null, parse.GetValue(epochs), parse.GetValue(batch), parse.GetValue(lr), parse.GetValue(seed), parse.GetValue(microBatch), parse.GetValue(checkpoint),
                parse.GetValue(heldOut), parse.GetValue(calibration), parse.GetValue(patience), parse.GetValue(tile), parse.GetValue(overlap));
            return Run(settings, parse.GetValue(data)!, parse.GetValue(output)!);
        }));
        return cmd;
    }

    private static int Run(TrainSettings s, DirectoryInfo data, FileInfo output)
    {
        var clock = Stopwatch.StartNew();
        if (!File.Exists(s.Backbone))
        {
            string fallback = s.Kind == ModelKind.CsFlow ? DefaultPipeline.CsFlowBackbone : DefaultPipeline.UFlowBackbone;
            string hint = $" (the default for --model {(s.Kind == ModelKind.CsFlow ? "csflow" : "uflow")} is {fallback}, relative to the working directory; pass --backbone)";
            throw new FileNotFoundException($"Backbone '{s.Backbone}' does not exist{hint}.", s.Backbone);
        }
        var ml = new MLContext(s.Seed);
        ml.DisableOnnxRuntimeSpinning(); // row-at-a-time scoring: spin-waiting threads cost CPU, not wall time
        IDataView train = ml.Data.LoadAnomalyImages(data.FullName, AnomalyImageSplit.Train);
        long count = train.GetRowCount() ?? 0;
        string[] outputs = s.Kind == ModelKind.CsFlow ? [DefaultPipeline.ResolveCsFlowLayer(s.Backbone, s.Layer)] : DefaultPipeline.ResolveLayers(s.Backbone, s.Layers);
        string name = s.Kind == ModelKind.CsFlow ? "CS-Flow" : "U-Flow";
        AnsiConsole.MarkupLine($"[bold]uflow train[/] {name}: {count} normal images from {Markup.Escape(data.FullName)}");
        IDataView? tiles = s.Tiling is { } tiling ? Tiles(train, tiling) : null;
        InputSize inputSize = s.Tiling is { } t ? new InputSize(t.TileSize, t.TileSize) : ChooseInputSize(s, train);
        AnsiConsole.MarkupLine($"backbone {Markup.Escape(Path.GetFileName(s.Backbone))} [[{Markup.Escape(string.Join(", ", outputs))}]]{(s.Kind == ModelKind.CsFlow ? " at 3 input scales" : "")}, " +
                               $"input {inputSize} (W×H), epochs {s.Epochs}, batch {s.Batch}{(s.MicroBatch is int mb ? $" (micro-batches of {mb})" : "")}, lr {F(s.LearningRate)}{(s.Kind == ModelKind.CsFlow ? $", hidden {s.Hidden}" : "")}, seed {s.Seed}" +
                               (s.Kind == ModelKind.UFlow ? $", held out {F(s.HeldOut)}, calibration {TrainSettings.CalibrationNames[(int)s.Calibration]}, patience {s.Patience}" : ""));

        if (s.Checkpoint is not null)
        {
            AnsiConsole.MarkupLine(File.Exists(s.Checkpoint)
                ? $"continuing the training saved in {Markup.Escape(s.Checkpoint)} (delete it to start anew)"
                : $"saving the training state to {Markup.Escape(s.Checkpoint)} after every epoch (run the same command again to continue an interrupted training)");
        }
        ITransformer model = ConsoleProgress.Run(bars =>
        {
            var reporter = new Reporter(bars);
            var uflowOptions = new UFlowTrainer.Options
            {
                Epochs = s.Epochs,
                BatchSize = s.Batch,
                MicroBatchSize = s.MicroBatch,
                LearningRate = s.LearningRate,
                Seed = s.Seed,
                HeldOutFraction = s.HeldOut,
                LatentCalibration = s.Calibration,
                EarlyStoppingPatience = s.Patience,
                CheckpointPath = s.Checkpoint,
                Progress = reporter,
                Tiling = s.Tiling,
            };
            if (tiles is not null) return DefaultPipeline.FitTiled(ml, s.Backbone, outputs, s.Tiling!, uflowOptions, train, tiles);
            IEstimator<ITransformer> pipeline = s.Kind == ModelKind.CsFlow
                ? DefaultPipeline.CreateCsFlow(ml, s.Backbone, outputs[0], inputSize, new CsFlowTrainer.Options
                {
                    Epochs = s.Epochs,
                    BatchSize = s.Batch,
                    LearningRate = s.LearningRate,
                    HiddenChannels = s.Hidden,
                    Seed = s.Seed,
                    CheckpointPath = s.Checkpoint,
                    Progress = reporter,
                })
                : DefaultPipeline.Create(ml, s.Backbone, outputs, inputSize, uflowOptions);
            return pipeline.Fit(train);
        });
        try
        {
            AtomicFile.Write(output.FullName, stream => ml.Model.Save(model, train.Schema, stream));
            // The fitted pipeline (not a loaded one) still holds the scorer with its training summary.
            var components = ((IEnumerable<ITransformer>)model).ToList();
            var (summary, threshold) = s.Kind == ModelKind.CsFlow
                ? components.OfType<CsFlowScoreTransformer>().Select(c => (c.TrainingSummary, c.Threshold)).Single()
                : components.OfType<AnomalyScoreTransformer>().Select(c => (c.TrainingSummary, c.Threshold)).Single();
            AnsiConsole.MarkupLine($"{summary.Epochs} epochs, {summary.Steps} steps, final loss {summary.FinalLoss.ToString("0.####", CultureInfo.InvariantCulture)}, score threshold {threshold.ToString("0.######", CultureInfo.InvariantCulture)}");
            AnsiConsole.MarkupLine($"featurize {summary.FeaturizeSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s, train {summary.TrainSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
            if (summary.HeldOut is { } held)
            {
                string exported = summary.StoppedEarly ? $"early stopping kept epoch {summary.ExportedEpoch + 1}; " : "";
                AnsiConsole.MarkupLine(Markup.Escape($"{exported}held-out normals ({held.Images} {(s.Tiling is null ? "images" : "tiles")}): loss {CalibrationReport.Number(held.Loss)}, mean z² per scale {CalibrationReport.List(held.MeanSquarePerScale)}, NFA calibration {TrainSettings.CalibrationNames[(int)summary.Calibration]}"));
                foreach (string warning in CalibrationReport.Warnings(held, summary.Calibration, summary.Calibration == LatentCalibration.None ? null : held.MeanSquarePerScale))
                    AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(warning)}[/]");
            }
        }
        finally
        {
            TransformerDisposal.Dispose(model);
        }
        AnsiConsole.MarkupLine($"saved [green]{Markup.Escape(output.FullName)}[/] ({new FileInfo(output.FullName).Length / 1024} KiB) in {Timing.Describe(clock)}");
        return 0;
    }

    private static string F(double v) => v.ToString(CultureInfo.InvariantCulture);

    // The given size, or the aspect-preserving default from the training images' headers (printed, and recorded in the
    // model by its Image column and the flow graph's metadata).
    // The training rows of a tiled model: every tile of every image, at full resolution (sizes checked from the headers first).
    private static IDataView Tiles(IDataView train, ImageTiling tiling)
    {
        var paths = train.GetColumn<string>(AnomalyColumns.ImagePath).ToList();
        IDataView tiles = ImageTileData.Load(paths, tiling);
        long count = tiles.GetRowCount() ?? 0;
        var sizes = paths.Select(Imaging.ImageDecoder.ReadSize).Distinct().ToList();
        string example = sizes.Count == 1 ? $" ({tiling.Count(sizes[0].Width, sizes[0].Height)} per {sizes[0].Width}x{sizes[0].Height} image)" : $" ({sizes.Count} distinct image sizes)";
        AnsiConsole.MarkupLine(Markup.Escape($"tiles {tiling.TileSize}x{tiling.TileSize}, overlap {tiling.Overlap}, at full resolution: {count} training tiles{example}"));
        return tiles;
    }

    private static InputSize ChooseInputSize(TrainSettings s, IDataView train)
    {
        var (size, description) = InputSize.Choose(s.InputSize, train.GetColumn<string>(AnomalyColumns.ImagePath), s.DefaultSide, s.Stride);
        if (description is not null) AnsiConsole.MarkupLine(Markup.Escape(description));
        return size;
    }

    private sealed class Reporter(ProgressBars bars) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Phase == "epoch")
            {
                // One line per finished epoch (above the bars), with the held-out evaluation when there is one.
                string held = value.HeldOut is { } h ? $"  held-out loss {CalibrationReport.Number(h.Loss)}  mean z² {CalibrationReport.List(h.MeanSquarePerScale)}" : "";
                AnsiConsole.MarkupLine(Markup.Escape($"epoch {value.Done}/{value.Total}  loss {CalibrationReport.Number(value.Loss ?? double.NaN)}{held}"));
                return;
            }
            bars.Report(value.Phase, value.Done, value.Total, value.Loss is double l ? $"(loss {l.ToString("0.###", CultureInfo.InvariantCulture)})" : null);
        }
    }
}
