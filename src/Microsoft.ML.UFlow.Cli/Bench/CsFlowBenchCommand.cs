using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Metrics;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Cli.Bench;

// Inside namespace Microsoft.ML.*, ML.NET's namespace Microsoft.ML.Command hides System.CommandLine's Command, and
// the managed engine's CsFlowTrainer is hidden by the ML.NET estimator of the same name.
using Command = System.CommandLine.Command;
using CsFlowTrainer = Microsoft.ML.UFlow.Flows.CsFlow.CsFlowTrainer;

/// <summary>
/// <c>uflow bench csflow</c>: CS-Flow training-step speed on synthetic features, or (with <c>--data</c>) a complete
/// experiment: three-scale features from an ONNX backbone, training, image AUROC on the test split.
/// </summary>
internal static class CsFlowBenchCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var data = new Option<string?>("--data") { Description = "MTD folder (with split.txt) or MVTec AD category folder; without it, only the synthetic step timing runs." };
        var model = new Option<string>("--backbone") { Description = "ONNX backbone file.", DefaultValueFactory = _ => "../shared/models/mobilenetv2_1.0_imagenet_features.onnx" };
        var layer = new Option<string>("--layer") { Description = "Backbone output used at every input scale.", DefaultValueFactory = _ => "stride16" };
        var size = new Option<int>("--input-size") { Description = "Side of the full-scale input (C.1: 768 for MVTec AD, 384 for MTD).", DefaultValueFactory = _ => 384 };
        var channels = new Option<int>("--channels") { Description = "Synthetic mode: feature channels.", DefaultValueFactory = _ => 96 };
        var featureSize = new Option<int>("--feature-size") { Description = "Synthetic mode: side of the scale-0 feature map.", DefaultValueFactory = _ => 24 };
        var hidden = new Option<int>("--hidden") { Description = "Hidden width of the subnetworks (CS-Flow: 1024).", DefaultValueFactory = _ => 1024 };
        var batch = new Option<int>("--batch") { Description = "Batch size (CS-Flow: 16).", DefaultValueFactory = _ => 16 };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs (CS-Flow: 60 on MTD, 240 on MVTec AD); 0 scores with the untrained flow (baseline).", DefaultValueFactory = _ => 1 };
        var steps = new Option<int>("--steps") { Description = "Synthetic mode: timed training steps.", DefaultValueFactory = _ => 2 };
        var maxTrain = new Option<int>("--max-train") { Description = "Use at most this many training images (0: all), a seeded random subset.", DefaultValueFactory = _ => 0 };
        var save = new Option<string?>("--save") { Description = "Save the CS-Flow model here after every test evaluation (so a run stopped early keeps its last scored model) and at the end." };
        var seed = new Option<int>("--seed") { Description = "Seed of weights, shuffling and subset.", DefaultValueFactory = _ => 0 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate (CS-Flow: 2e-4).", DefaultValueFactory = _ => 2e-4 };
        var cache = new Option<string?>("--cache") { Description = "Folder for cached three-scale features (reused when the data, backbone, layer, size and subset match)." };
        var json = new Option<string?>("--json") { Description = "Synthetic mode: also write the timed steps (seconds) to this JSON file." };
        var evalEvery = new Option<int>("--eval-every") { Description = "Also score the test split every k epochs (0: only after the last epoch).", DefaultValueFactory = _ => 0 };
        var csv = new Option<string?>("--csv") { Description = "Write the curve (epoch, loss, seconds, image AUROC, and the AUROC of each scale's share of the score) to this CSV file, flushed every epoch." };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Save the whole training state (model, Adam, epochs done) here after every epoch, atomically, so that --resume can continue the run later." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --checkpoint (same settings and data; its --csv curve is continued) instead of starting anew." };
        var maxMinutes = new Option<double>("--max-minutes") { Description = "Stop after the first epoch that ends past this wall time (0 = no limit), scoring the test split at that epoch; with --checkpoint, --resume continues the run.", DefaultValueFactory = _ => 0 };

        var cmd = new Command("csflow", "CS-Flow: synthetic training-step timing, or a full experiment (features, training, image AUROC) with --data.");
        foreach (Option o in new Option[] { data, model, layer, size, channels, featureSize, hidden, batch, epochs, steps, maxTrain, save, seed, json, cache, lr, evalEvery, csv, checkpoint, resume, maxMinutes }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            string? dataPath = r.GetValue(data);
            if (dataPath is null)
            {
                RunSynthetic(r.GetValue(channels), r.GetValue(featureSize), r.GetValue(hidden), r.GetValue(batch), r.GetValue(steps), r.GetValue(json));
            }
            else
            {
                RunExperiment(dataPath, r.GetValue(model)!, r.GetValue(layer)!, r.GetValue(size), r.GetValue(hidden), r.GetValue(batch), r.GetValue(epochs),
                    r.GetValue(maxTrain), r.GetValue(save), r.GetValue(seed), r.GetValue(cache), r.GetValue(lr), r.GetValue(evalEvery), r.GetValue(csv),
                    r.GetValue(checkpoint), r.GetValue(resume), r.GetValue(maxMinutes));
            }
            return 0;
        });
        return cmd;
    }

    private static void RunSynthetic(int channels, int featureSize, int hidden, int batch, int steps, string? jsonPath)
    {
        var options = new CsFlowNetworkOptions { Channels = channels, HiddenChannels = hidden };
        var network = new CsFlowNetwork(options);
        Tensor[] x = Enumerable.Range(0, 3).Select(s => Random(batch, channels, featureSize >> s, (ulong)s)).ToArray();
        double gflop = ForwardGflop(options, featureSize) * batch;
        Console.WriteLine($"CS-Flow step, C={channels}, features {featureSize}/{featureSize / 2}/{featureSize / 4}, hidden {hidden}, batch {batch}, " +
                          $"{network.ParameterCount / 1e6:F1} M parameters, {Engine.Threads} threads ({Engine.Isa}); forward convolutions {gflop:F1} GFLOP");
        var trainer = new Optim.Adam(network.Parameters, new Optim.AdamOptions { LearningRate = 2e-4, Epsilon = 1e-4, WeightDecay = 1e-5 });
        Tensor[] gz = [new(1), new(1), new(1)];
        var gld = new double[batch];
        var timed = new List<(double Forward, double Backward, double Total)>();
        for (int i = 0; i <= steps; i++)
        {
            var clock = Stopwatch.StartNew();
            (IReadOnlyList<Tensor> z, double[] ld) = network.Forward(x);
            double forward = clock.Elapsed.TotalSeconds;
            CsFlowLoss.Compute(z, ld, gz, gld);
            network.Backward(gz, gld);
            double backward = clock.Elapsed.TotalSeconds - forward;
            Optim.GradientClipping.ClipGradNorm(network.Parameters, 1.0);
            trainer.Step();
            double total = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"{(i == 0 ? "warm-up" : "step " + i)}: forward {forward:F2} s ({gflop / forward:F1} GFLOP/s), backward {backward:F2} s, " +
                              $"clip+Adam {total - forward - backward:F2} s, total {total:F2} s = {total / batch * 1000:F0} ms/sample");
            if (i > 0) timed.Add((forward, backward, total));
        }
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, System.Text.Json.JsonSerializer.Serialize(new
            {
                forward_s = timed.Select(t => t.Forward).ToArray(),
                backward_s = timed.Select(t => t.Backward).ToArray(),
                step_s = timed.Select(t => t.Total).ToArray(),
            }));
        }
    }

    /// <summary>FLOPs (in G) of the convolutions of one forward pass per sample.</summary>
    private static double ForwardGflop(CsFlowNetworkOptions o, int featureSize)
    {
        double p0 = featureSize * featureSize, p1 = p0 / 4, p2 = p0 / 16;
        int c1 = o.Channels / 2, c2 = o.Channels - c1;
        double total = 0;
        foreach (int k in o.KernelSizes)
        {
            foreach (int cin in new[] { c2, c1 })
            {
                int cout = 2 * (o.Channels - cin);
                total += 2.0 * k * k * o.HiddenChannels * (cin * (p0 + p1 + p2) + cout * ((p0 + p1 + p2) + (p0 + p1) + (p1 + p2)));
            }
        }
        return total / 1e9;
    }

    private static Tensor Random(int n, int c, int hw, ulong seed)
    {
        var r = new Nn.SeededRandom(seed);
        var t = new Tensor(n, c, hw, hw);
        for (int i = 0; i < t.Length; i++) t.Span[i] = (float)r.NextGaussian();
        return t;
    }

    private static void RunExperiment(string dataPath, string backbone, string layer, int inputSize, int hidden, int batch, int epochs, int maxTrain, string? savePath, int seed, string? cacheDir, double learningRate,
        int evalEvery, string? csvPath, string? checkpointPath, bool resume, double maxMinutes)
    {
        var wall = Stopwatch.StartNew();
        if (!(maxMinutes >= 0)) throw new ArgumentOutOfRangeException(nameof(maxMinutes), maxMinutes, "--max-minutes must be 0 (no limit) or positive.");
        if (resume && checkpointPath is null) throw new ArgumentException("--resume continues the run saved in --checkpoint; give --checkpoint too.");
        if (resume && !File.Exists(checkpointPath)) throw new FileNotFoundException($"--resume: there is no checkpoint at '{Path.GetFullPath(checkpointPath!)}'; run without --resume to start the run.", checkpointPath);
        if (resume && epochs == 0) throw new ArgumentException("--resume needs --epochs above the epochs already done (0 scores the untrained flow).");
        AnomalyDataset dataset = DatasetReader.Open(dataPath);
        using var featurizer = new OnnxFeaturizer(backbone, [layer]);
        IReadOnlyList<FeatureMapInfo> info = featurizer.Describe(inputSize, inputSize);
        Console.WriteLine($"data {dataset.Name} ({dataset.Layout}): {dataset.TrainCount} train, {dataset.TestCount} test; backbone {Path.GetFileName(backbone)}:{layer} " +
                          $"({info[0].Channels} channels, {info[0].Height}x{info[0].Width} at {inputSize}); engine {Engine.Threads} threads ({Engine.Isa})");

        List<DatasetItem> train = dataset.Train.ToList();
        if (maxTrain > 0 && maxTrain < train.Count)
        {
            int[] order = new Nn.SeededRandom((ulong)seed + 1000).Permutation(train.Count);
            train = order.Take(maxTrain).Order().Select(i => train[i]).ToList();
        }
        List<DatasetItem> test = dataset.Test.ToList();

        var clock = Stopwatch.StartNew();
        string key = $"{dataset.Name}_{Path.GetFileNameWithoutExtension(backbone)}_{layer}_{inputSize}_{maxTrain}_{seed}";
        Tensor[] trainFeatures = Cached(cacheDir, key + "_train", train.Count, info[0], () => Featurize(train, featurizer, inputSize));
        Tensor[] testFeatures = Cached(cacheDir, key + "_test", test.Count, info[0], () => Featurize(test, featurizer, inputSize));
        Console.WriteLine($"features: {clock.Elapsed.TotalSeconds:F0} s for {train.Count + test.Count} images; scales " +
                          string.Join(" / ", trainFeatures.Select(t => $"{t.C}x{t.H}x{t.W}")));

        var options = new CsFlowTrainerOptions
        {
            Epochs = Math.Max(1, epochs),
            BatchSize = batch,
            LearningRate = learningRate,
            ShuffleSeed = (ulong)seed,
            Network = new CsFlowNetworkOptions { HiddenChannels = hidden, Seed = (ulong)seed },
        };
        var source = new InMemoryFeatureSource(trainFeatures);
        var testSource = new InMemoryFeatureSource(testFeatures);
        // Built here rather than by Fit so that the progress callback can score the model between epochs; Fit does
        // exactly this (same options, same seeds) before it trains.
        var trainer = new CsFlowTrainer(options);
        CsFlowTrainingState state;
        if (resume)
        {
            state = CsFlowTrainingCheckpoint.Load(checkpointPath!, trainer);
            Console.WriteLine($"resumed from {Path.GetFullPath(checkpointPath!)}: {state.CompletedEpochs} epochs done ({state.Optimizer.StepCount} optimiser steps), continuing with epoch {state.CompletedEpochs + 1}");
        }
        else
        {
            CsFlowNetworkOptions networkOptions = options.Network.Clone();
            networkOptions.Channels = trainFeatures[0].C;
            state = trainer.Start(new CsFlowModel(new CsFlowNetwork(networkOptions)));
        }
        CsFlowModel model = state.Model;
        const string CurveHeader = "epoch,loss,train_s,image_auroc,score_s,auroc_scale0,auroc_scale1,auroc_scale2";
        // A resumed run keeps the curve's rows up to its checkpoint (a row written after the last checkpoint of a run
        // that was then killed is dropped: that epoch is trained again) and goes on appending.
        string[] earlier = resume && csvPath is not null ? CurveUpTo(csvPath, CurveHeader, state.CompletedEpochs) : [];
        using StreamWriter? curve = csvPath is null ? null : new StreamWriter(csvPath);
        curve?.WriteLine(CurveHeader);
        foreach (string row in earlier) curve?.WriteLine(row);
        double trainSeconds = 0;
        double auroc = double.NaN;
        // --max-minutes: the epoch that ends past the limit is scored and checkpointed, then the token stops the trainer
        // before its next batch.
        using var timeLimit = new CancellationTokenSource();
        var progress = new ConsoleProgress(r =>
        {
            trainSeconds += r.Elapsed.TotalSeconds;
            bool timeUp = maxMinutes > 0 && wall.Elapsed.TotalMinutes >= maxMinutes && r.Epoch < r.Epochs;
            string line = $"epoch {r.Epoch}/{r.Epochs}: loss {r.MeanLoss.ToString("F5", Inv)} ({r.Elapsed.TotalSeconds:F0} s)";
            string evaluated = "", evaluatedScales = ",,";
            double scoreSeconds = 0;
            if (r.Epoch == r.Epochs || (evalEvery > 0 && r.Epoch % evalEvery == 0) || timeUp)
            {
                var scoreClock = Stopwatch.StartNew();
                (auroc, double[] perScale, string perType) = ImageAuroc(model, testSource, test);
                scoreSeconds = scoreClock.Elapsed.TotalSeconds;
                line += $", test image AUROC {auroc.ToString("F4", Inv)} (per scale {string.Join(" / ", perScale.Select(a => a.ToString("F4", Inv)))}; " +
                        $"per defect type {perType}; {scoreSeconds:F0} s)";
                evaluated = auroc.ToString("R", Inv);
                evaluatedScales = string.Join(",", perScale.Select(a => a.ToString("R", Inv)));
                if (savePath is not null)
                {
                    Save(model, savePath, backbone, layer, inputSize, r.Epoch);
                    line += $", saved {savePath}";
                }
            }
            Console.WriteLine(line);
            curve?.WriteLine(string.Join(",", r.Epoch.ToString(Inv), r.MeanLoss.ToString("R", Inv), r.Elapsed.TotalSeconds.ToString("F1", Inv),
                evaluated, evaluated.Length > 0 ? scoreSeconds.ToString("F1", Inv) : "", evaluatedScales));
            curve?.Flush();
            if (checkpointPath is not null) CsFlowTrainingCheckpoint.Save(trainer, state, checkpointPath);
            if (timeUp) timeLimit.Cancel();
        });
        clock.Restart();
        string stoppedBy = "max-epochs";
        if (epochs > 0)
        {
            try
            {
                trainer.Train(state, source, progress, timeLimit.Token);
            }
            catch (OperationCanceledException) when (timeLimit.IsCancellationRequested)
            {
                stoppedBy = "time-limit";
                Console.WriteLine($"stopped by --max-minutes {maxMinutes.ToString(Inv)} after epoch {state.CompletedEpochs} of {options.Epochs} (partial run" +
                                  (checkpointPath is null ? ")" : $"; continue it with --resume --checkpoint {checkpointPath})"));
            }
        }
        else
        {
            // Baseline: the untrained flow (γ = 0: identity up to the permutations), i.e. the mean of x²/2 over the features.
            (auroc, double[] perScale, string perType) = ImageAuroc(model, testSource, test);
            Console.WriteLine($"untrained flow: per-scale image AUROC {string.Join(" / ", perScale.Select(a => a.ToString("F4", Inv)))}; per defect type {perType}");
        }
        Console.WriteLine($"RESULT data={dataset.Name} backbone={Path.GetFileName(backbone)}:{layer} input={inputSize} hidden={hidden} batch={batch} lr={learningRate.ToString(Inv)} epochs={state.CompletedEpochs}/{epochs} stopped_by={stoppedBy} " +
                          $"train={train.Count} test={test.Count} image_AUROC={auroc.ToString("F4", Inv)} train_s={trainSeconds:F0} wall_s={clock.Elapsed.TotalSeconds:F0}");
        if (savePath is not null && epochs == 0)
        {
            Save(model, savePath, backbone, layer, inputSize, 0);
            Console.WriteLine($"saved {savePath}");
        }
    }

    /// <summary>The rows of the first <paramref name="epochs"/> epochs of the curve of the run being resumed.</summary>
    private static string[] CurveUpTo(string path, string header, int epochs)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"The curve '{path}' of the run being resumed does not exist.");
        string[] lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != header) throw new InvalidDataException($"'{path}' is not a curve written by bench csflow.");
        string[] rows = lines.Skip(1).Take(epochs).ToArray();
        for (int i = 0; i < rows.Length; i++)
        {
            if (!rows[i].StartsWith((i + 1).ToString(Inv) + ",", StringComparison.Ordinal)) throw new InvalidDataException($"Line {i + 2} of '{path}' is not epoch {i + 1}.");
        }
        if (rows.Length < epochs) throw new InvalidDataException($"The curve '{path}' has {rows.Length} epochs, but the checkpoint has {epochs}.");
        return rows;
    }

    /// <summary>Saves the model (atomically) with the features it expects and the epochs it was trained for.</summary>
    private static void Save(CsFlowModel model, string path, string backbone, string layer, int inputSize, int epoch)
    {
        model.Metadata["backbone"] = Path.GetFileName(backbone) + ":" + layer;
        model.Metadata["input_size"] = inputSize.ToString(Inv);
        model.Metadata["epochs_trained"] = epoch.ToString(Inv);
        model.Save(path);
    }

    /// <summary>
    /// Image AUROC of the CS-Flow image score (C.4) over the test split, and, as diagnostics, of the same score
    /// restricted to each scale (mean z²/2 over that scale's latents only) and of each defect type against the normal
    /// images (as text: "type AUROC, …").
    /// </summary>
    private static (double Auroc, double[] PerScale, string PerType) ImageAuroc(CsFlowModel model, InMemoryFeatureSource testSource, List<DatasetItem> test)
    {
        bool[] labels = test.Select(t => t.IsAnomalous).ToArray();
        var batch = new Tensor[] { new(1), new(1), new(1) };
        var scores = new double[labels.Length];
        double[][] perScale = [new double[labels.Length], new double[labels.Length], new double[labels.Length]];
        for (int start = 0; start < labels.Length; start += 16)
        {
            int n = Math.Min(16, labels.Length - start);
            testSource.ReadBatch(Enumerable.Range(start, n).ToArray(), batch);
            IReadOnlyList<Tensor> z = model.Network.Forward(batch).Latents;
            CsFlowScoring.ImageScores(z).CopyTo(scores, start);
            for (int s = 0; s < z.Count; s++) CsFlowScoring.ImageScores([z[s]]).CopyTo(perScale[s], start);
        }
        var byType = new DefectTypeBreakdown();
        for (int i = 0; i < test.Count; i++) byType.Add(test[i].DefectType, test[i].IsAnomalous, scores[i]);
        string perType = string.Join(", ", byType.Compute().Where(t => t.IsAnomalous).Select(t => $"{t.DefectType} {t.ImageAuroc.ToString("F4", Inv)}"));
        return (RocAuc.Compute(scores, labels), perScale.Select(p => RocAuc.Compute(p, labels)).ToArray(), perType);
    }

    /// <summary>
    /// Features from <paramref name="dir"/> when a cache file for <paramref name="key"/> exists and its header matches
    /// (sample count, three scales, the finest scale's shape); otherwise computed and cached (atomically).
    /// </summary>
    private static Tensor[] Cached(string? dir, string key, int count, FeatureMapInfo finest, Func<Tensor[]> compute)
    {
        if (dir is null) return compute();
        string path = Path.Combine(dir, key + ".f32");
        Tensor[]? loaded = FeatureTensorFile.TryRead(path, count, [(finest.Channels, finest.Height, finest.Width), null, null], out string? reason);
        if (loaded is not null)
        {
            Console.WriteLine($"features from cache {path}");
            return loaded;
        }
        if (reason is not null) Console.WriteLine($"feature cache {path} ignored ({reason}); recomputing");
        Tensor[] t = compute();
        FeatureTensorFile.Write(path, t);
        return t;
    }

    /// <summary>Decodes, converts to RGB, resizes (PIL bilinear) and normalises the images, and extracts three-scale features.</summary>
    private static Tensor[] Featurize(List<DatasetItem> items, OnnxFeaturizer featurizer, int inputSize)
    {
        const int chunk = 8;
        Tensor[]? all = null;
        var input = new Tensor(1);
        for (int start = 0; start < items.Count; start += chunk)
        {
            int n = Math.Min(chunk, items.Count - start);
            input.EnsureShape(n, 3, inputSize, inputSize);
            Parallel.For(0, n, i =>
            {
                Image image = ImageDecoder.Decode(items[start + i].ImagePath);
                if (image.Channels != 3) image = image.ToRgb();
                ImageNormalization.ToTensor(ImageResize.Bilinear(image, inputSize, inputSize), input, i);
            });
            Tensor[] f = CsFlowInputScales.ExtractFeatures(input, x => featurizer.Extract(x)[0].Clone());
            all ??= f.Select(t => new Tensor(items.Count, t.C, t.H, t.W)).ToArray();
            for (int s = 0; s < 3; s++)
            {
                for (int i = 0; i < n; i++) f[s].Sample(i).CopyTo(all[s].Sample(start + i));
            }
        }
        return all ?? throw new InvalidOperationException("No images.");
    }

    private sealed class ConsoleProgress(Action<CsFlowEpochReport> report) : IProgress<CsFlowEpochReport>
    {
        public void Report(CsFlowEpochReport value) => report(value);
    }
}
