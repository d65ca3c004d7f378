using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.UFlow.Benchmarks.Featurization;
using Microsoft.ML.UFlow.Benchmarks.Quality;
using Microsoft.ML.UFlow.Cli;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Metrics;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Training;
using TorchSharp;

namespace Microsoft.ML.UFlow.Benchmarks;

// Inside namespace Microsoft.ML.*, ML.NET's namespace Microsoft.ML.Command hides System.CommandLine's Command.
using Command = System.CommandLine.Command;

/// <summary>
/// <c>uflow bench quality</c>: trains U-Flow (on TorchSharp) on a data set's normal training images with the paper's procedure
/// (METHOD.md A.5: Adam with L2 weight decay, LinearLR stepped per epoch, early stopping on the test pixel AUROC with
/// patience 20) and evaluates every metric of Part B on the test split after each epoch. Prints and writes the
/// metric-vs-epoch curve (CSV, flushed every epoch so a run cut short still leaves its curve), and a JSON summary with
/// the test-set-selected numbers (as the paper reports them: best epoch per metric), the last-epoch numbers, seconds per
/// epoch and peak memory.
/// </summary>
internal static class QualityBenchCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create(Func<string, string?, string[]> resolveLayers)
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "MVTec AD category folder, or the MTD folder (uses its split.txt).", Required = true };
        var backbone = new Option<FileInfo>("--backbone") { Description = "ONNX feature extractor.", Required = true };
        var layers = new Option<string?>("--layers") { Description = "Comma-separated backbone outputs, finest first (default: the known set of the backbone)." };
        var inputSize = new Option<int>("--input-size") { Description = "Square input size (multiple of 32).", DefaultValueFactory = _ => 256 };
        var epochs = new Option<int>("--epochs") { Description = "Maximum epochs (the official trainer runs config epochs + 1, e.g. 201).", DefaultValueFactory = _ => 201 };
        var batch = new Option<int>("--batch") { Description = "Training batch size.", DefaultValueFactory = _ => 8 };
        var microBatch = new Option<int?>("--micro-batch") { Description = "Samples per forward/backward pass; gradients are accumulated over a batch's micro-batches before its one Adam step (default: the whole batch)." };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 1e-4 };
        var patience = new Option<int>("--patience") { Description = "Early stopping patience on the test pixel AUROC, in evaluations (0 = off).", DefaultValueFactory = _ => 20 };
        var evalEvery = new Option<int>("--eval-every") { Description = "Evaluate every k epochs (the paper: 1); the last epoch is always evaluated.", DefaultValueFactory = _ => 1 };
        var flowSteps = new Option<int>("--flow-steps") { Description = "Flow steps per scale.", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation and shuffling.", DefaultValueFactory = _ => 0 };
        var maxMinutes = new Option<double>("--max-minutes") { Description = "Stop after the first epoch that ends past this wall time (0 = no limit); the run is then reported as partial.", DefaultValueFactory = _ => 0 };
        var maxTrain = new Option<int>("--max-train") { Description = "Use only the first n training images (0 = all; for timing only).", DefaultValueFactory = _ => 0 };
        var oracle = new Option<bool>("--oracle") { Description = "Also compute the oracle mIoU (best −log10 NFA threshold in −400…1000).", DefaultValueFactory = _ => true };
        var cache = new Option<DirectoryInfo?>("--cache") { Description = "Folder for cached backbone features (reused by later runs with the same data, backbone, layers and size)." };
        var output = new Option<string>("--out") { Description = "Prefix of the outputs: <out>.csv (curve) and <out>.json (summary); with --evaluate-only, <out>.eval.json.", Required = true };
        var name = new Option<string?>("--name") { Description = "Label of the run in the outputs (default: data set and backbone)." };
        var checkpoint = new Option<FileInfo?>("--checkpoint") { Description = "Save the whole training state (flow, Adam, epoch, early stopping) here after every epoch, atomically, so that --resume can continue the run later." };
        var guard = new Option<bool>("--under-dispersion-guard") { Description = "Evaluate the NFA with the opt-in guard of METHOD.md A.7.8 (regions whose minimum statistic is not above the mean are never significant); a deviation from the official code, reported as such." };
        var evaluateOnly = new Option<bool>("--evaluate-only") { Description = "Do not train: evaluate the flow saved in --checkpoint once (e.g. with --under-dispersion-guard) and write <out>.eval.json." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --checkpoint (same settings and data) and append to its curve, instead of starting anew." };
        var heldOut = new Option<double>("--held-out") { Description = "Share of the normal training images held out from training (at least 4, chosen from --seed): the flow is evaluated on them after every epoch (loss, mean z² per scale, in the curve); with --evaluate-only, the checkpoint's test metrics are given without and with the held-out calibration. 0 = off, the paper's procedure.", DefaultValueFactory = _ => 0 };
        var calibration = new Option<string>("--calibration") { Description = "NFA latent calibration of the per-epoch evaluation: none, or held-out (each scale's NFA statistic divided by that epoch's held-out mean z²; needs --held-out).", DefaultValueFactory = _ => "none" };
        calibration.AcceptOnlyFromAmong("none", "held-out");
        var device = new Option<string>("--device") { Description = "TorchSharp device to train and evaluate on: cpu, cuda or cuda:N (cuda needs the TorchSharp-cuda backend instead of TorchSharp-cpu).", DefaultValueFactory = _ => UFlowTorchTrainingOptions.DefaultDevice };

        var cmd = new Command("quality", "Train U-Flow with the paper's procedure and evaluate every metric on the test split after each epoch.");
        foreach (var o in new Option[] { data, backbone, layers, inputSize, epochs, batch, microBatch, lr, patience, evalEvery, flowSteps, seed, maxMinutes, maxTrain, oracle, cache, output, name, checkpoint, resume, guard, evaluateOnly, device, heldOut, calibration }) cmd.Options.Add(o);
        cmd.SetAction(p => Run(new Settings(
            p.GetValue(data)!, p.GetValue(backbone)!, p.GetValue(layers), p.GetValue(inputSize), p.GetValue(epochs), p.GetValue(batch), p.GetValue(microBatch), p.GetValue(lr),
            p.GetValue(patience), p.GetValue(evalEvery), p.GetValue(flowSteps), p.GetValue(seed), p.GetValue(maxMinutes), p.GetValue(maxTrain),
            p.GetValue(oracle), p.GetValue(cache), p.GetValue(output)!, p.GetValue(name), p.GetValue(checkpoint), p.GetValue(resume),
            p.GetValue(guard), p.GetValue(evaluateOnly), p.GetValue(device)!, p.GetValue(heldOut), p.GetValue(calibration) == "held-out"), resolveLayers));
        return cmd;
    }

    private sealed record Settings(
        DirectoryInfo Data, FileInfo Backbone, string? Layers, int InputSize, int Epochs, int Batch, int? MicroBatch, double Lr, int Patience, int EvalEvery,
        int FlowSteps, int Seed, double MaxMinutes, int MaxTrain, bool Oracle, DirectoryInfo? Cache, string Out, string? Name, FileInfo? Checkpoint, bool Resume,
        bool UnderDispersionGuard, bool EvaluateOnly, string Device, double HeldOut = 0, bool Calibrate = false);

    private static int Run(Settings s, Func<string, string?, string[]> resolveLayers)
    {
        if (s.InputSize < 32 || s.InputSize % 32 != 0) throw new ArgumentOutOfRangeException(nameof(s.InputSize), s.InputSize, "--input-size must be a positive multiple of 32.");
        if (s.EvalEvery < 1) throw new ArgumentOutOfRangeException(nameof(s.EvalEvery), s.EvalEvery, "--eval-every must be at least 1.");
        if (s.Resume && s.Checkpoint is null) throw new ArgumentException("--resume continues the run saved in --checkpoint; give --checkpoint too.");
        if (s.EvaluateOnly && (s.Checkpoint is null || !s.Checkpoint.Exists)) throw new ArgumentException("--evaluate-only evaluates the flow saved in --checkpoint; give an existing --checkpoint file.");
        if (s.EvaluateOnly && s.Resume) throw new ArgumentException("--evaluate-only does not train; leave out --resume.");
        if (s.Calibrate && s.HeldOut == 0) throw new ArgumentException("--calibration held-out needs held-out images: give --held-out too.");
        if (s.Resume && !s.Checkpoint!.Exists) throw new FileNotFoundException($"--resume: there is no checkpoint at '{s.Checkpoint.FullName}'; run without --resume to start the run.", s.Checkpoint.FullName);
        var total = Stopwatch.StartNew();
        const int evaluationSize = 256;
        AnomalyDataset dataset = DatasetReader.Open(s.Data.FullName);
        string[] outputs = resolveLayers(s.Backbone.FullName, s.Layers);
        string label = s.Name ?? $"{dataset.Name} / {Path.GetFileNameWithoutExtension(s.Backbone.Name)}";
        var trainItems = dataset.Train.ToList();
        if (s.MaxTrain > 0 && s.MaxTrain < trainItems.Count) trainItems = trainItems.Take(s.MaxTrain).ToList();
        var testItems = dataset.Test.ToList();
        Console.WriteLine($"uflow bench quality: {label}");
        Console.WriteLine($"  data {dataset.Root}: train {trainItems.Count}, test {testItems.Count} ({testItems.Count(i => !i.IsAnomalous)} normal)");
        Console.WriteLine($"  backbone {s.Backbone.Name} [{string.Join(", ", outputs)}], input {s.InputSize}, lr {s.Lr.ToString("R", Inv)}, batch {s.Batch}{(s.MicroBatch is int mb ? $" (micro-batches of {mb})" : "")}, epochs ≤ {s.Epochs}, patience {s.Patience}, eval every {s.EvalEvery}, flow steps {s.FlowSteps}, seed {s.Seed}, device {s.Device}");

        // --evaluate-only needs no training features (the flow's shapes are the test features' shapes).
        QualityFeatureSet? trainOrNull = null;
        QualityFeatureSet test;
        using (var featurizer = new OnnxFeaturizer(s.Backbone.FullName, outputs))
        {
            string? key = s.Cache is null ? null : Path.Combine(s.Cache.FullName, CacheKey(dataset, s, outputs));
            if (!s.EvaluateOnly || s.HeldOut > 0)
            {
                trainOrNull = QualityFeatureSet.Build(trainItems, featurizer, s.InputSize, evaluationSize, withMasks: false, key is null ? null : key + $"_train{trainItems.Count}.f32", Progress("featurize train"));
            }
            test = QualityFeatureSet.Build(testItems, featurizer, s.InputSize, evaluationSize, withMasks: true, key is null ? null : key + "_test.f32", Progress("featurize test"));
        }
        string trainInfo = trainOrNull is { } t0 ? $"train {t0.FeaturizeSeconds:F1} s{(t0.FromCache ? " (cache)" : "")}, " : "";
        Console.WriteLine($"  features: {trainInfo}test {test.FeaturizeSeconds:F1} s{(test.FromCache ? " (cache)" : "")}; shapes {string.Join(", ", test.Scales.Select(t => $"{t.C}@{t.H}x{t.W}"))}");

        var evaluator = new QualityEvaluator(test, evaluationSize, batchSize: 8, s.Oracle, s.UnderDispersionGuard);
        // The held-out slice of the training images (none with --held-out 0): evaluated after every epoch, never trained on.
        HeldOutSplit? split = trainOrNull is { } all ? HeldOutSplit.Choose(all.Count, s.HeldOut, s.Seed, "--held-out") : null;
        IFeatureBatchSource? allTrain = trainOrNull is { } t1 ? new InMemoryFeatureSource(t1.Scales) : null;
        UFlowHeldOutEvaluator? heldOutEvaluator = split is { HeldOut.Length: > 0 } ? new UFlowHeldOutEvaluator(new SubsetFeatureSource(allTrain!, split.HeldOut), test.Scales.Length, s.Batch) : null;
        if (heldOutEvaluator is not null) Console.WriteLine($"  held out {heldOutEvaluator.Count} of {split!.Count} training images{(s.Calibrate ? "; NFA calibrated on them every epoch" : "")}");
        HeldOutEvaluation? pendingHeldOut = null;
        double heldOutSeconds = 0;
        if (s.UnderDispersionGuard) Console.WriteLine("  NFA with the under-dispersion guard (METHOD.md A.7.8; not the official code)");
        int scales = test.Scales.Length;
        var rows = new List<QualityEpochRow>();
        QualityMetrics? pending = null;
        bool stoppedByTime = false;
        string csvPath = s.Out + ".csv";
        CreateDirectoryFor(csvPath);
        var config = new UFlowConfig(test.Scales.Select(t => new FlowScale(t.C, t.H, t.W)))
        {
            FlowSteps = s.FlowSteps,
            FeatureLayerNorm = true,
            Seed = (ulong)(uint)s.Seed,
        };
        UFlowTorchTrainer trainer;
        var options = new UFlowTorchTrainingOptions
        {
            Device = s.Device,
            LearningRate = s.Lr,
            BatchSize = s.Batch,
            MicroBatchSize = s.MicroBatch,
            Epochs = s.Epochs,
            Seed = (ulong)(uint)s.Seed,
            EarlyStoppingPatience = s.Patience > 0 ? s.Patience : int.MaxValue,
            RestoreBestWeights = false,
            ValidationMetric = (f, epoch) =>
            {
                var heldOutClock = Stopwatch.StartNew();
                pendingHeldOut = heldOutEvaluator?.Evaluate(f);
                heldOutSeconds = heldOutClock.Elapsed.TotalSeconds; // not training time
                bool last = epoch == s.Epochs - 1 || (s.MaxMinutes > 0 && total.Elapsed.TotalMinutes >= s.MaxMinutes);
                if ((epoch + 1) % s.EvalEvery != 0 && !last) { pending = null; return null; }
                pending = evaluator.Evaluate(f, s.Calibrate ? LatentCalibrationFactors.FromMeanSquare(pendingHeldOut!.MeanSquarePerScale) : null);
                return pending.PixelAuroc;
            },
        };
        if (s.Resume || s.EvaluateOnly)
        {
            trainer = UFlowTorchCheckpoint.Load(s.Checkpoint!.FullName, options);
            // The configuration's text names every setting (scales, steps, ratio, clamp, LayerNorm, seed).
            if (trainer.Module.Config.ToString() != config.ToString())
            {
                string held = trainer.Module.Config.ToString();
                trainer.Dispose();
                throw new InvalidDataException($"The checkpoint '{s.Checkpoint.FullName}' holds the flow {held}, but these features and options make {config}.");
            }
            if (s.EvaluateOnly)
            {
                using (trainer) return EvaluateCheckpoint(s, trainer, evaluator, heldOutEvaluator, split);
            }
            if (!(trainer.HeldOut ?? HeldOutSplit.FromHeldOut(split!.Count, [])).SameAs(split!))
            {
                trainer.Dispose();
                throw new InvalidDataException($"The checkpoint '{s.Checkpoint.FullName}' held out other training images than --held-out {s.HeldOut} with --seed {s.Seed} does; resume with the settings it was made with.");
            }
            rows.AddRange(QualityCurveCsv.Read(csvPath, trainer.CompletedEpochs, scales, heldOutEvaluator is not null));
            Console.WriteLine($"  resumed from {s.Checkpoint.FullName}: {trainer.CompletedEpochs} epochs done, continuing with epoch {trainer.CompletedEpochs + 1}");
        }
        else
        {
            trainer = new UFlowTorchTrainer(config, options);
        }
        using var owned = trainer;
        trainer.HeldOut = split; // kept with the checkpoints, so that --resume holds out the same images
        UFlowModule flow = trainer.Module;
        Console.WriteLine($"  flow {flow.Config}; {flow.TrainableParameterCount:N0} trainable parameters; torch threads {torch.get_num_threads()}");

        // A resumed run rewrites the curve with the rows up to its checkpoint (a row written after the last checkpoint
        // of a run that was then killed is dropped: that epoch is trained again) and goes on appending.
        using var csv = new StreamWriter(csvPath, append: false, new UTF8Encoding(false)) { AutoFlush = true };
        bool withHeldOut = heldOutEvaluator is not null;
        csv.WriteLine(QualityCurveCsv.Header(scales, withHeldOut));
        foreach (QualityEpochRow row in rows) csv.WriteLine(QualityCurveCsv.Row(row, scales, withHeldOut));
        options.EpochCompleted = report =>
        {
            double evalSeconds = (pending?.Seconds ?? 0) + heldOutSeconds;
            var row = new QualityEpochRow(report.Epoch, report.Loss, report.Elapsed.TotalSeconds - evalSeconds, pending, PeakBytes(), pendingHeldOut);
            rows.Add(row);
            csv.WriteLine(QualityCurveCsv.Row(row, scales, withHeldOut));
            Console.WriteLine(ConsoleRow(row));
            if (s.Checkpoint is not null) UFlowTorchCheckpoint.Save(trainer, s.Checkpoint.FullName);
            if (s.MaxMinutes > 0 && total.Elapsed.TotalMinutes >= s.MaxMinutes) report.StopRequested = stoppedByTime = true;
        };
        QualityFeatureSet train = trainOrNull ?? throw new InvalidOperationException("Training needs the training features.");
        UFlowTrainingResult result = trainer.Train(new SubsetFeatureSource(allTrain!, split!.Training));
        string stop = !result.StoppedEarly ? "max epochs" : stoppedByTime ? "time limit" : "early stopping";

        var summary = Summary(s, label, dataset, outputs, train, test, flow, rows, stop, total.Elapsed.TotalSeconds, split.HeldOut.Length);
        string jsonPath = s.Out + ".json";
        File.WriteAllText(jsonPath, summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"stopped by {stop} after {rows.Count} epochs; wrote {csvPath} and {jsonPath}");
        PrintSelected(summary);
        return 0;
    }

    /// <summary>
    /// --evaluate-only: one evaluation of the checkpoint's flow (its current weights), printed and written to
    /// &lt;out&gt;.eval.json; with --held-out, also the flow on the held-out images and the test metrics with the NFA
    /// calibrated on them (before/after on the same weights).
    /// </summary>
    private static int EvaluateCheckpoint(Settings s, UFlowTorchTrainer trainer, QualityEvaluator evaluator, UFlowHeldOutEvaluator? heldOutEvaluator, HeldOutSplit? split)
    {
        Console.WriteLine($"  evaluating {s.Checkpoint!.FullName}: {trainer.CompletedEpochs} epochs done, flow {trainer.Module.Config}");
        HeldOutEvaluation? heldOut = heldOutEvaluator?.Evaluate(trainer.Module);
        QualityMetrics metrics = evaluator.Evaluate(trainer.Module);
        var row = new QualityEpochRow(trainer.CompletedEpochs - 1, double.NaN, double.NaN, metrics, PeakBytes(), heldOut);
        Console.WriteLine(ConsoleRow(row));
        var json = new JsonObject
        {
            ["checkpoint"] = s.Checkpoint.FullName,
            ["epochs_done"] = trainer.CompletedEpochs,
            ["under_dispersion_guard"] = s.UnderDispersionGuard,
            ["metrics"] = MetricsJson(row),
        };
        if (heldOut is not null)
        {
            bool trainedOn = !(trainer.HeldOut ?? HeldOutSplit.FromHeldOut(split!.Count, [])).SameAs(split!);
            if (trainedOn) Console.WriteLine("  note: the checkpoint did not hold out these images (it was trained on them), so their mean z² is biased low");
            float[] factors = LatentCalibrationFactors.FromMeanSquare(heldOut.MeanSquarePerScale);
            Console.WriteLine($"  NFA calibrated on the held-out images (statistic divided by {string.Join("/", heldOut.MeanSquarePerScale.Select(v => F(v, "F3")))}):");
            var calibrated = row with { Metrics = evaluator.Evaluate(trainer.Module, factors) };
            Console.WriteLine(ConsoleRow(calibrated));
            json["held_out_fraction"] = s.HeldOut;
            json["held_out_trained_on"] = trainedOn;
            json["metrics_calibrated"] = MetricsJson(calibrated);
        }
        string path = s.Out + ".eval.json";
        CreateDirectoryFor(path);
        AtomicFile.WriteAllText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {path}");
        return 0;
    }

    private static string CacheKey(AnomalyDataset dataset, Settings s, string[] outputs)
    {
        string raw = $"{dataset.Root}|{s.Backbone.FullName}|{s.Backbone.Length}|{string.Join(",", outputs)}|{s.InputSize}";
        string hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(raw)))[..12].ToLowerInvariant();
        return $"{dataset.Name}_{Path.GetFileNameWithoutExtension(s.Backbone.Name)}_{s.InputSize}_{hash}";
    }

    private static Action<int, int> Progress(string what)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan last = TimeSpan.Zero;
        return (done, count) =>
        {
            if (done == count || clock.Elapsed - last > TimeSpan.FromSeconds(30))
            {
                last = clock.Elapsed;
                Console.WriteLine($"  {what}: {done}/{count} ({clock.Elapsed.TotalSeconds:F0} s)");
            }
        };
    }

    private static long PeakBytes()
    {
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.PeakWorkingSet64;
    }

    private static void CreateDirectoryFor(string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
    }

    private static string F(double v, string format = "F4") => double.IsNaN(v) ? "nan" : v.ToString(format, Inv);

    private static string ConsoleRow(QualityEpochRow r)
    {
        var m = r.Metrics;
        string head = $"epoch {r.Epoch + 1,4}  loss {F(r.Loss, "F1"),10}  train {F(r.TrainSeconds, "F1"),6} s"
            + (r.HeldOut is { } h ? $"  held-out loss {F(h.Loss, "F1")} E[z²] {string.Join("/", h.MeanSquarePerScale.Select(v => F(v, "F3")))}" : "");
        if (m is null) return head;
        return head + $"  eval {F(m.Seconds, "F1")} s  imgAUROC {F(m.ImageAuroc)}  pxAUROC {F(m.PixelAuroc)}  AUPRO {F(m.Aupro)}  F1max {F(m.F1Max)}  "
            + $"mIoU(NFA<0) {F(m.MeanIouNfa)}  oracle {F(m.OracleMeanIou)}@{F(m.OracleThreshold, "F0")}  wide {F(m.WideOracleMeanIou)}@{F(m.WideOracleThreshold, "F0")}  "
            + $"defective IoU {F(m.DefectiveMeanIou)} P {F(m.DefectivePrecision)} R {F(m.DefectiveRecall)}  normal det {m.NormalImagesWithDetection}/{m.NormalImages}  "
            + $"anom det {m.AnomalousImagesWithDetection}/{m.AnomalousImages}  E[z²] {string.Join("/", m.NormalMeanSquarePerScale.Select(v => F(v, "F3")))}  peak {r.PeakBytes / (1 << 20)} MB"
            + (m.ByDefectType.Count == 0 ? "" : "\n           by type: " + string.Join("; ", m.ByDefectType.Select(TypeSummary)));
    }

    private static string TypeSummary(DefectTypeMetrics t)
    {
        DefectTypeSegmentation s = t.Segmentation!;
        string detected = $"det {s.ImagesWithDetection}/{t.ImageCount}";
        return t.IsAnomalous
            ? $"{t.DefectType} imgAUROC {F(t.ImageAuroc)} IoU {F(s.MeanIou)} P {F(s.Precision)} R {F(s.Recall)} {detected}"
            : $"{t.DefectType} (normal) {detected}";
    }

    private static JsonObject MetricsJson(QualityEpochRow r)
    {
        var m = r.Metrics!;
        return new JsonObject
        {
            ["epoch"] = r.Epoch + 1,
            ["image_auroc"] = m.ImageAuroc,
            ["pixel_auroc"] = m.PixelAuroc,
            ["aupro"] = m.Aupro,
            ["f1_max"] = m.F1Max,
            ["miou_log_nfa_lt_0"] = m.MeanIouNfa,
            ["oracle_miou"] = double.IsNaN(m.OracleMeanIou) ? null : m.OracleMeanIou,
            ["oracle_threshold"] = double.IsNaN(m.OracleThreshold) ? null : m.OracleThreshold,
            ["wide_oracle_miou"] = double.IsNaN(m.WideOracleMeanIou) ? null : m.WideOracleMeanIou,
            ["wide_oracle_threshold"] = double.IsNaN(m.WideOracleThreshold) ? null : m.WideOracleThreshold,
            ["defective_miou"] = double.IsNaN(m.DefectiveMeanIou) ? null : m.DefectiveMeanIou,
            ["defective_precision"] = double.IsNaN(m.DefectivePrecision) ? null : m.DefectivePrecision,
            ["defective_recall"] = double.IsNaN(m.DefectiveRecall) ? null : m.DefectiveRecall,
            ["normal_images_with_detection"] = m.NormalImagesWithDetection,
            ["normal_images"] = m.NormalImages,
            ["anomalous_images_with_detection"] = m.AnomalousImagesWithDetection,
            ["anomalous_images"] = m.AnomalousImages,
            ["normal_mean_z2_per_scale"] = new JsonArray(m.NormalMeanSquarePerScale.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
            ["held_out_images"] = r.HeldOut is { Images: > 0 } h ? h.Images : null,
            ["held_out_nll"] = r.HeldOut?.Loss,
            ["held_out_mean_z2_per_scale"] = r.HeldOut is null ? null : new JsonArray(r.HeldOut.MeanSquarePerScale.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
            // Epochs read back from a resumed run's curve have no per-type metrics (the CSV does not keep them): null.
            ["by_defect_type"] = m.ByDefectType.Count == 0 ? null : DefectTypeJson.Of(m.ByDefectType),
        };
    }

    private static JsonObject Summary(Settings s, string label, AnomalyDataset dataset, string[] outputs, QualityFeatureSet train, QualityFeatureSet test,
        UFlowModule flow, List<QualityEpochRow> rows, string stop, double totalSeconds, int heldOutImages)
    {
        var evaluated = rows.Where(r => r.Metrics is not null).ToList();
        var trainSeconds = rows.Select(r => r.TrainSeconds).ToArray();
        var selected = new JsonObject();
        if (evaluated.Count > 0)
        {
            // The paper's selection (METHOD.md A.5): each metric from the epoch that maximises it on the test set.
            foreach (var (key, pick) in new (string, Func<QualityMetrics, double>)[]
            {
                ("pixel_auroc", m => m.PixelAuroc), ("aupro", m => m.Aupro), ("miou_log_nfa_lt_0", m => m.MeanIouNfa), ("image_auroc", m => m.ImageAuroc),
            })
            {
                QualityEpochRow best = evaluated.Aggregate((a, b) => pick(b.Metrics!) > pick(a.Metrics!) ? b : a);
                selected[key] = MetricsJson(best);
            }
        }
        return new JsonObject
        {
            ["name"] = label,
            ["data"] = dataset.Root,
            ["backbone"] = s.Backbone.Name,
            ["layers"] = string.Join(",", outputs),
            ["input_size"] = s.InputSize,
            ["evaluation_size"] = 256,
            ["train_images"] = train.Count - heldOutImages,
            ["test_images"] = test.Count,
            ["lr"] = s.Lr,
            ["batch"] = s.Batch,
            ["micro_batch"] = s.MicroBatch,
            ["max_epochs"] = s.Epochs,
            ["patience"] = s.Patience,
            ["under_dispersion_guard"] = s.UnderDispersionGuard,
            ["held_out_fraction"] = s.HeldOut,
            ["held_out_images"] = heldOutImages,
            ["nfa_calibration"] = s.Calibrate ? "held_out_scale" : "none",
            ["eval_every"] = s.EvalEvery,
            ["flow_steps"] = s.FlowSteps,
            ["seed"] = s.Seed,
            ["device"] = s.Device,
            ["torch_threads"] = torch.get_num_threads(),
            ["trainable_parameters"] = flow.TrainableParameterCount,
            ["featurize_seconds"] = train.FeaturizeSeconds + test.FeaturizeSeconds,
            ["epochs_run"] = rows.Count,
            ["stopped_by"] = stop,
            ["train_seconds_per_epoch_median"] = trainSeconds.Length == 0 ? null : Median(trainSeconds),
            ["eval_seconds_median"] = evaluated.Count == 0 ? null : Median(evaluated.Select(r => r.Metrics!.Seconds).ToArray()),
            ["peak_working_set_mb"] = PeakBytes() / (1 << 20),
            ["total_seconds"] = totalSeconds,
            ["selected_on_test_set"] = selected,
            ["last_epoch"] = evaluated.Count == 0 ? null : MetricsJson(evaluated[^1]),
        };
    }

    private static double Median(double[] values)
    {
        var v = (double[])values.Clone();
        Array.Sort(v);
        return v.Length % 2 == 1 ? v[v.Length / 2] : 0.5 * (v[v.Length / 2 - 1] + v[v.Length / 2]);
    }

    private static void PrintSelected(JsonObject summary)
    {
        if (summary["last_epoch"] is JsonObject last)
        {
            Console.WriteLine($"last epoch {last["epoch"]}: imgAUROC {last["image_auroc"]}  pxAUROC {last["pixel_auroc"]}  AUPRO {last["aupro"]}  mIoU(NFA<0) {last["miou_log_nfa_lt_0"]}  normal det {last["normal_images_with_detection"]}/{last["normal_images"]}");
        }
        if (summary["selected_on_test_set"] is JsonObject sel)
        {
            foreach (var (key, node) in sel) Console.WriteLine($"best {key} (test-set selection, as the paper): {node!["epoch"]} -> {node[key]}");
        }
        Console.WriteLine($"train s/epoch (median) {summary["train_seconds_per_epoch_median"]}, eval s {summary["eval_seconds_median"]}, peak {summary["peak_working_set_mb"]} MB");
    }
}
