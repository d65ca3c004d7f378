using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.UFlow.Benchmarks.Featurization;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Metrics;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Training;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Microsoft.ML.UFlow.Benchmarks;

// Inside namespace Microsoft.ML.*, ML.NET's namespace Microsoft.ML.Command hides System.CommandLine's Command.
using Command = System.CommandLine.Command;

/// <summary>
/// <c>uflow bench csflow</c>: CS-Flow's training step and forward pass on TorchSharp (libtorch) on synthetic features,
/// or (with <c>--data</c>) a complete experiment: three-scale features from an ONNX backbone, training
/// (<see cref="CsFlowTorchTrainer"/>, resumable through <see cref="CsFlowTorchCheckpoint"/>), image AUROC on the test
/// split (<see cref="CsFlowTorchScoring"/>).
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
        var steps = new Option<int>("--steps") { Description = "Synthetic mode: timed training steps and forward passes, after one warm-up of each.", DefaultValueFactory = _ => 2 };
        var maxTrain = new Option<int>("--max-train") { Description = "Use at most this many training images (0: all), a seeded random subset.", DefaultValueFactory = _ => 0 };
        var save = new Option<string?>("--save") { Description = "Save the trained flow as an ONNX graph (flow, image score and map, with the backbone, input size and epochs in its metadata) here after every test evaluation (so a run stopped early keeps its last scored model) and at the end." };
        var seed = new Option<int>("--seed") { Description = "Seed of weights, shuffling and subset.", DefaultValueFactory = _ => 0 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate (CS-Flow: 2e-4).", DefaultValueFactory = _ => 2e-4 };
        var cache = new Option<string?>("--cache") { Description = "Folder for cached three-scale features (reused when the data, backbone, layer, size and subset match)." };
        var json = new Option<string?>("--json") { Description = "Synthetic mode: also write the timed steps and forward passes (seconds) to this JSON file." };
        var threads = new Option<int>("--threads") { Description = "Threads of libtorch (intra-op); default: all processors.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var evalEvery = new Option<int>("--eval-every") { Description = "Also score the test split every k epochs (0: only after the last epoch).", DefaultValueFactory = _ => 0 };
        var csv = new Option<string?>("--csv") { Description = "Write the curve (epoch, loss, seconds, image AUROC, and the AUROC of each scale's share of the score) to this CSV file, flushed every epoch." };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Save the whole training state (model, Adam, epochs done) here after every epoch, atomically, so that --resume can continue the run later." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --checkpoint (same settings and data; its --csv curve is continued) instead of starting anew." };
        var maxMinutes = new Option<double>("--max-minutes") { Description = "Stop after the first epoch that ends past this wall time (0 = no limit), scoring the test split at that epoch; with --checkpoint, --resume continues the run.", DefaultValueFactory = _ => 0 };

        var cmd = new Command("csflow", "CS-Flow on TorchSharp: synthetic training-step and forward timing, or a full experiment (features, training, image AUROC) with --data.");
        foreach (Option o in new Option[] { data, model, layer, size, channels, featureSize, hidden, batch, epochs, steps, maxTrain, save, seed, json, threads, cache, lr, evalEvery, csv, checkpoint, resume, maxMinutes }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            string? dataPath = r.GetValue(data);
            int threadCount = r.GetValue(threads);
            if (threadCount < 1) throw new ArgumentOutOfRangeException(nameof(threads), threadCount, "--threads must be at least 1.");
            TorchRuntime.EnsureLoaded(); // first: it sets libtorch's OpenMP wait policy before the library loads
            torch.set_num_threads(threadCount);
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
        if (batch < 1 || steps < 1) throw new ArgumentOutOfRangeException(nameof(batch), "--batch and --steps must be at least 1.");
        if (featureSize < 4 || featureSize % 4 != 0) throw new ArgumentOutOfRangeException(nameof(featureSize), featureSize, "--feature-size must be a positive multiple of 4.");
        var options = new CsFlowNetworkOptions { Channels = channels, HiddenChannels = hidden };
        using CsFlowModule module = WithGammas(options, 0.1f);
        TorchTensor[] x = Enumerable.Range(0, 3).Select(s => HostTensorCopy.ToTorch(Random(batch, channels, featureSize >> s, (ulong)s), module.Device)).ToArray();
        var trainerOptions = new CsFlowTrainerOptions();
        using var adam = new HeldScalarAdam(module.parameters(), trainerOptions.LearningRate, trainerOptions.Beta1, trainerOptions.Beta2, trainerOptions.AdamEpsilon, trainerOptions.WeightDecay);
        using var loss = new CsFlowNll();
        double gflop = ForwardGflop(options, featureSize) * batch;
        Console.WriteLine($"CS-Flow step on TorchSharp, C={channels}, features {featureSize}/{featureSize / 2}/{featureSize / 4}, hidden {hidden}, kernels [{string.Join(", ", options.KernelSizes)}], batch {batch}, " +
                          $"{CsFlowModule.CountParameters(options) / 1e6:F1} M parameters; libtorch {torch.__version__}, {torch.get_num_threads()} threads, " +
                          $"OMP_WAIT_POLICY {Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? TorchRuntime.OpenMpWaitPolicy}; forward convolutions {gflop:F1} GFLOP");
        var timed = new List<(double Forward, double Backward, double Total, double Cpu)>();
        using Process self = Process.GetCurrentProcess();
        for (int i = 0; i <= steps; i++)
        {
            // Training step: forward, per-dimension loss and backward, then clipping at 1.0 and Adam (CPU ops finish
            // before they return, so the stopwatch splits the step).
            using var scope = torch.NewDisposeScope();
            self.Refresh();
            TimeSpan cpu0 = self.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            module.zero_grad();
            (TorchTensor[] z, TorchTensor logDet) = module.call(x);
            double forward = clock.Elapsed.TotalSeconds;
            loss.call(z, logDet).backward();
            double backward = clock.Elapsed.TotalSeconds - forward;
            torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0);
            adam.Step();
            double total = clock.Elapsed.TotalSeconds;
            self.Refresh();
            double cpu = (self.TotalProcessorTime - cpu0).TotalSeconds;
            Console.WriteLine(string.Create(Inv, $"{(i == 0 ? "warm-up" : "step " + i)}: forward {forward:F2} s ({gflop / forward:F1} GFLOP/s), backward {backward:F2} s, " +
                              $"clip+Adam {total - forward - backward:F2} s, total {total:F2} s = {total / batch * 1000:F0} ms/sample (CPU {cpu:F2} s)"));
            if (i > 0) timed.Add((forward, backward, total, cpu));
        }
        var inference = new List<double>();
        for (int i = 0; i <= steps; i++)
        {
            using var scope = torch.NewDisposeScope();
            using var mode = torch.inference_mode();
            var clock = Stopwatch.StartNew();
            module.call(x);
            if (i > 0) inference.Add(clock.Elapsed.TotalSeconds);
        }
        Console.WriteLine(string.Create(Inv, $"median: training step {Median(timed.Select(t => t.Total)):F3} s (CPU {Median(timed.Select(t => t.Cpu)):F3} s) = {Median(timed.Select(t => t.Total)) / batch * 1000:F0} ms/sample; " +
                          $"inference forward {Median(inference) / batch * 1000:F1} ms/image"));
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, System.Text.Json.JsonSerializer.Serialize(new
            {
                channels,
                feature_size = featureSize,
                hidden,
                batch,
                threads = torch.get_num_threads(),
                forward_s = timed.Select(t => t.Forward).ToArray(),
                backward_s = timed.Select(t => t.Backward).ToArray(),
                step_s = timed.Select(t => t.Total).ToArray(),
                step_cpu_s = timed.Select(t => t.Cpu).ToArray(),
                inference_forward_s = inference.ToArray(),
            }));
        }
        foreach (TorchTensor t in x) t.Dispose();
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] v = values.Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : 0.5 * (v[v.Length / 2 - 1] + v[v.Length / 2]);
    }

    /// <summary>A fresh network with every γ set to <paramref name="gamma"/>, so that every subnetwork does real work (a fresh γ is 0).</summary>
    private static CsFlowModule WithGammas(CsFlowNetworkOptions options, float gamma)
    {
        using var fresh = new CsFlowModule(options);
        var state = new Dictionary<string, StateTensor>(CsFlowStateDictionary.From(fresh));
        foreach (string name in state.Keys.Where(k => k.Contains(".gamma", StringComparison.Ordinal)).ToArray()) state[name] = new StateTensor([1], [gamma]);
        return CsFlowStateDictionary.ToModule(state, options);
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
        var r = new SeededRandom(seed);
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
                          $"({info[0].Channels} channels, {info[0].Height}x{info[0].Width} at {inputSize}); TorchSharp, libtorch {torch.__version__}, {torch.get_num_threads()} threads");

        List<DatasetItem> train = dataset.Train.ToList();
        if (maxTrain > 0 && maxTrain < train.Count)
        {
            int[] order = new SeededRandom((ulong)seed + 1000).Permutation(train.Count);
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
        // The features as CPU tensors (the trainer moves each batch to its device); the host copies are not kept.
        TorchTensor[] source = ToTorch(trainFeatures);
        TorchTensor[] testSource = ToTorch(testFeatures);
        (int featureHeight, int featureWidth) = (testFeatures[0].H, testFeatures[0].W);
        trainFeatures = testFeatures = [];
        // Built here rather than by Fit so that the progress callback can score the model between epochs; Fit does
        // exactly this (same options, same seeds) before it trains.
        var trainer = new CsFlowTorchTrainer(options);
        using CsFlowTorchTrainingState state = resume ? CsFlowTorchCheckpoint.Load(checkpointPath!, trainer) : trainer.Start(trainer.CreateModule(source));
        if (resume)
        {
            Console.WriteLine($"resumed from {Path.GetFullPath(checkpointPath!)}: {state.CompletedEpochs} epochs done ({state.Optimizer.StepCount} optimiser steps), continuing with epoch {state.CompletedEpochs + 1}");
        }
        CsFlowModule model = state.Module;
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
                    Save(model, featureHeight, featureWidth, savePath, backbone, layer, inputSize, r.Epoch);
                    line += $", saved {savePath}";
                }
            }
            Console.WriteLine(line);
            curve?.WriteLine(string.Join(",", r.Epoch.ToString(Inv), r.MeanLoss.ToString("R", Inv), r.Elapsed.TotalSeconds.ToString("F1", Inv),
                evaluated, evaluated.Length > 0 ? scoreSeconds.ToString("F1", Inv) : "", evaluatedScales));
            curve?.Flush();
            if (checkpointPath is not null) CsFlowTorchCheckpoint.Save(trainer, state, checkpointPath);
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
            Save(model, featureHeight, featureWidth, savePath, backbone, layer, inputSize, 0);
            Console.WriteLine($"saved {savePath}");
        }
        foreach (TorchTensor t in source.Concat(testSource)) t.Dispose();
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

    /// <summary>
    /// Saves the flow as its ONNX graph (<see cref="CsFlowOnnxExporter"/>: latents, image score, 256² map), atomically, with
    /// the features it expects and the epochs it was trained for in the graph's metadata (<c>backbone</c>,
    /// <c>input_size</c>, <c>epochs_trained</c>; read with <see cref="FlowModelFacts.Read(string)"/>).
    /// </summary>
    private static void Save(CsFlowModule model, int featureHeight, int featureWidth, string path, string backbone, string layer, int inputSize, int epoch)
    {
        var metadata = new Dictionary<string, string>
        {
            ["backbone"] = Path.GetFileName(backbone) + ":" + layer,
            ["input_size"] = inputSize.ToString(Inv),
            ["epochs_trained"] = epoch.ToString(Inv),
        };
        byte[] graph = CsFlowOnnxExporter.Export(model.Options, featureHeight, featureWidth, CsFlowStateDictionary.From(model), new FlowOnnxExportOptions { AdditionalMetadata = metadata });
        AtomicFile.Write(path, stream => stream.Write(graph));
    }

    private static TorchTensor[] ToTorch(Tensor[] features) => features.Select(t => HostTensorCopy.ToTorch(t, torch.CPU)).ToArray();

    /// <summary>
    /// Image AUROC of the CS-Flow image score (C.4) over the test split, and, as diagnostics, of the same score
    /// restricted to each scale (mean z²/2 over that scale's latents only) and of each defect type against the normal
    /// images (as text: "type AUROC, …").
    /// </summary>
    private static (double Auroc, double[] PerScale, string PerType) ImageAuroc(CsFlowModule model, TorchTensor[] testSource, List<DatasetItem> test)
    {
        bool[] labels = test.Select(t => t.IsAnomalous).ToArray();
        var scores = new double[labels.Length];
        double[][] perScale = [new double[labels.Length], new double[labels.Length], new double[labels.Length]];
        for (int start = 0; start < labels.Length; start += 16)
        {
            using var scope = torch.NewDisposeScope();
            using var mode = torch.inference_mode();
            int n = Math.Min(16, labels.Length - start);
            TorchTensor[] batch = testSource.Select(t => t.narrow(0, start, n).to(model.Device)).ToArray();
            TorchTensor[] z = model.call(batch).Latents;
            HostTensorCopy.ToArray(CsFlowTorchScoring.ImageScores(z)).Select(v => (double)v).ToArray().CopyTo(scores, start);
            for (int s = 0; s < z.Length; s++) HostTensorCopy.ToArray(CsFlowTorchScoring.ImageScores([z[s]])).Select(v => (double)v).ToArray().CopyTo(perScale[s], start);
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
