using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Benchmarks.Knn;
using Microsoft.ML.UFlow.Cli;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Metrics;
using TorchSharp;

namespace Microsoft.ML.UFlow.Benchmarks;

// ML.NET has a namespace Microsoft.ML.Command, which hides System.CommandLine's Command inside namespace Microsoft.ML.*.
using Command = System.CommandLine.Command;

/// <summary>
/// <c>uflow bench knn</c>: the nearest-neighbour scorer that issue 22 compares U-Flow with, on the same features (the
/// U-Flow defaults' backbone, layers and input size, featurised by the product's ML.NET pipeline): a memory bank of the
/// normal training images' position vectors per scale (<see cref="KnnScorer"/>), then image AUROC, pixel AUROC, AUPRO
/// and pixel F1-max on the test split with the product's metrics, on the map grid <c>uflow eval</c> uses for that input
/// size (masks resized like the images, then to the grid), and image AUROC per defect type.
/// </summary>
internal static class KnnBenchCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The default share of each training image's positions kept per scale (the search's cost is proportional to it).</summary>
    public const double DefaultBankFraction = 0.01;

    public static Command Create(UFlowFeatureDefaults uflow)
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "MVTec AD category folder, plain folder, or the MTD folder (uses its split.txt).", Required = true };
        var backbone = new Option<FileInfo?>("--backbone") { Description = $"ONNX feature extractor (default: U-Flow's, {uflow.Backbone}, relative to the working directory)." };
        var layers = new Option<string?>("--layers") { Description = "Comma-separated backbone outputs, finest first (default: U-Flow's for the backbone, as 'uflow train')." };
        var inputSize = new Option<string?>("--input-size") { Description = "Input WIDTHxHEIGHT or one side, as 'uflow train' (default: U-Flow's aspect-preserving size from the training images, e.g. 224x256 on MTD)." };
        var pool = new Option<int>("--pool") { Description = "Side of the average pooling of the features before the search (PatchCore's local neighbourhood; 1 = none).", DefaultValueFactory = _ => 3 };
        var fraction = new Option<double>("--bank-fraction") { Description = "Share of each training image's positions kept in each scale's memory bank (seeded random subsample; the search time is proportional to it).", DefaultValueFactory = _ => DefaultBankFraction };
        var sigma = new Option<double>("--sigma") { Description = "Standard deviation of the Gaussian smoothing of the map, in map pixels (PatchCore: 4; 0 = none).", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "Seed of the bank's subsample.", DefaultValueFactory = _ => 0 };
        var chunk = new Option<int>("--chunk") { Description = "Bank vectors per matrix product of the search (memory: queries × chunk × 4 bytes).", DefaultValueFactory = _ => MemoryBank.DefaultChunk };
        var perScale = new Option<bool>("--per-scale") { Description = "Also evaluate each scale's map alone (pixel AUROC, AUPRO, image AUROC; 8 bytes per test pixel per scale)." };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the results as JSON to this file." };
        var command = new Command("knn", "Nearest-neighbour scorer (PatchCore-like, k = 1) on U-Flow's features: image/pixel AUROC, AUPRO and per-defect-type image AUROC.");
        foreach (var o in new Option[] { data, backbone, layers, inputSize, pool, fraction, sigma, seed, chunk, perScale, json }) command.Options.Add(o);
        command.SetAction(p => Run(uflow, p.GetValue(data)!, p.GetValue(backbone), p.GetValue(layers), p.GetValue(inputSize),
            new KnnScorerOptions(p.GetValue(pool), p.GetValue(fraction), p.GetValue(sigma), p.GetValue(seed), Chunk: p.GetValue(chunk)), p.GetValue(perScale), p.GetValue(json)));
        return command;
    }

    /// <summary>The columns read from the featurised data.</summary>
    private sealed class Row
    {
        [ColumnName(AnomalyColumns.Label)] public float Label { get; set; }
        [ColumnName(AnomalyColumns.MaskPath)] public string MaskPath { get; set; } = "";
        [ColumnName(AnomalyColumns.DefectType)] public string DefectType { get; set; } = "";
        [ColumnName(AnomalyColumns.Features)] public float[] Features { get; set; } = [];
        [ColumnName(AnomalyColumns.Features + AnomalyColumns.ShapesSuffix)] public float[] FeatureShapes { get; set; } = [];

        public LatentLayout.Scale[] Scales => LatentLayout.Split(Features, FeatureShapes, AnomalyColumns.Features);
    }

    private static int Run(UFlowFeatureDefaults uflow, DirectoryInfo data, FileInfo? backboneFile, string? layerList, string? inputSizeText,
        KnnScorerOptions options, bool perScale, FileInfo? json)
    {
        options.Validate();
        var total = Stopwatch.StartNew();
        var ml = new MLContext(seed: 0);
        ml.DisableOnnxRuntimeSpinning(); // as uflow eval: the same features for less CPU
        IDataView train = ml.Data.LoadAnomalyImages(data.FullName, AnomalyImageSplit.Train);
        IDataView test = ml.Data.LoadAnomalyImages(data.FullName, AnomalyImageSplit.Test);
        string backbone = backboneFile?.FullName ?? Path.GetFullPath(uflow.Backbone);
        if (!File.Exists(backbone))
        {
            throw new FileNotFoundException($"Backbone '{backbone}' does not exist" +
                (backboneFile is null ? $" (the default is {uflow.Backbone}, relative to the working directory; pass --backbone)." : "."), backbone);
        }
        string[] layers = uflow.ResolveLayers(backbone, layerList);
        var (width, height, how) = uflow.ResolveInputSize(inputSizeText, train.GetColumn<string>(AnomalyColumns.ImagePath));
        long trainCount = train.GetRowCount() ?? 0, testCount = test.GetRowCount() ?? 0;
        Console.WriteLine($"uflow bench knn: {data.FullName}: train {trainCount}, test {testCount}");
        if (how is not null) Console.WriteLine("  " + how);
        Console.WriteLine($"  backbone {Path.GetFileName(backbone)} [{string.Join(", ", layers)}], input {width}x{height} (W×H); pool {options.Pool}x{options.Pool}, " +
                          $"bank fraction {options.BankFraction.ToString(Inv)}, sigma {options.Sigma.ToString(Inv)}, seed {options.Seed}, chunk {options.Chunk}, torch threads {torch.get_num_threads()}");

        ITransformer featurizer = uflow.Featurizer(ml, backbone, layers, width, height).Fit(train);
        try
        {
            var trainFeaturize = new Stopwatch();
            var bankClock = Stopwatch.StartNew();
            using KnnScorer scorer = KnnScorer.Build(Timed(ml, featurizer.Transform(train), trainFeaturize).Select(r => r.Scales), options);
            bankClock.Stop();
            var grid = scorer.Grid;
            Console.WriteLine($"  train: featurize {trainFeaturize.Elapsed.TotalSeconds:F1} s, bank {(bankClock.Elapsed - trainFeaturize.Elapsed).TotalSeconds:F1} s; " +
                              $"banks {string.Join(", ", scorer.Shapes.Select((s, l) => $"{scorer.BankSizes[l]}x{s.Channels} (of {trainCount * s.Height * s.Width} at {s.Height}x{s.Width})"))}; map grid {grid.Width}x{grid.Height} (W×H)");

            int scales = scorer.Shapes.Count;
            var pixels = new PixelEvaluator();
            PixelEvaluator[] scalePixels = perScale ? Enumerable.Range(0, scales).Select(_ => new PixelEvaluator()).ToArray() : [];
            var scaleScores = Enumerable.Range(0, scales).Select(_ => new List<double>()).ToArray();
            var normalMeanDistance = new double[scales];
            int normalImages = 0;
            var scores = new List<double>();
            var labels = new List<bool>();
            var byType = new DefectTypeBreakdown();
            var truth = GroundTruthReader.For(test.Schema, grid, width, height);
            var gt = new float[grid.Height * grid.Width];
            var testFeaturize = new Stopwatch();
            var search = new Stopwatch();
            foreach (Row row in Timed(ml, featurizer.Transform(test), testFeaturize))
            {
                var distances = new List<float[]>();
                search.Start();
                float[] map = scorer.Score(row.Scales, distances);
                search.Stop();
                bool anomalous = row.Label > 0.5f;
                double score = TensorPrimitives.Max(map);
                truth.Read(row.MaskPath, grid, gt);
                pixels.Add(map, gt, grid.Height, grid.Width);
                scores.Add(score);
                labels.Add(anomalous);
                byType.Add(row.DefectType, anomalous, score);
                for (int l = 0; l < scales; l++)
                {
                    if (!anomalous) normalMeanDistance[l] += distances[l].Average();
                    if (!perScale) continue;
                    float[] alone = scorer.ScaleMap(l, distances[l]);
                    scalePixels[l].Add(alone, gt, grid.Height, grid.Width);
                    scaleScores[l].Add(TensorPrimitives.Max(alone));
                }
                if (!anomalous) normalImages++;
            }
            for (int l = 0; l < scales; l++) normalMeanDistance[l] /= Math.Max(1, normalImages);

            var metricsClock = Stopwatch.StartNew();
            PixelMetrics p = pixels.Compute();
            double imageAuroc = RocAuc.Compute(scores.ToArray(), labels.ToArray());
            IReadOnlyList<DefectTypeMetrics> types = byType.Compute();
            var scaleMetrics = scalePixels.Select((e, l) => (Pixels: e.Compute(), Image: RocAuc.Compute(scaleScores[l].ToArray(), labels.ToArray()))).ToArray();
            metricsClock.Stop();
            long peak = PeakBytes();

            Console.WriteLine($"  test: featurize {testFeaturize.Elapsed.TotalSeconds:F1} s, search {search.Elapsed.TotalSeconds:F1} s ({search.Elapsed.TotalSeconds / Math.Max(1, scores.Count):F2} s per image), metrics {metricsClock.Elapsed.TotalSeconds:F1} s; peak working set {peak >> 20} MB; total {total.Elapsed.TotalSeconds:F1} s");
            Console.WriteLine($"image_auroc {F(imageAuroc)}  pixel_auroc {F(p.Auroc)}  aupro {F(p.Aupro)}  f1max_pixel {F(p.F1Max)}  ({scores.Count} images, {p.RegionCount} defect regions)");
            Console.WriteLine($"  normal test images' mean distance per scale (the average's weights): {string.Join(" / ", normalMeanDistance.Select(d => d.ToString("F3", Inv)))}");
            for (int l = 0; l < scaleMetrics.Length; l++)
            {
                Console.WriteLine($"  scale {l + 1} alone: image_auroc {F(scaleMetrics[l].Image)}  pixel_auroc {F(scaleMetrics[l].Pixels.Auroc)}  aupro {F(scaleMetrics[l].Pixels.Aupro)}");
            }
            Console.WriteLine($"  {"defect type",-22} {"images",6} {"image AUROC",11}");
            foreach (DefectTypeMetrics t in types) Console.WriteLine($"  {t.DefectType + (t.IsAnomalous ? "" : " (normal)"),-22} {t.ImageCount,6} {(t.IsAnomalous ? F(t.ImageAuroc) : "-"),11}");

            if (json is not null)
            {
                var result = new JsonObject
                {
                    ["data"] = data.FullName,
                    ["backbone"] = Path.GetFileName(backbone),
                    ["layers"] = string.Join(",", layers),
                    ["input_width"] = width,
                    ["input_height"] = height,
                    ["map_width"] = grid.Width,
                    ["map_height"] = grid.Height,
                    ["pool"] = options.Pool,
                    ["bank_fraction"] = options.BankFraction,
                    ["sigma"] = options.Sigma,
                    ["seed"] = options.Seed,
                    ["bank_sizes"] = new JsonArray(scorer.BankSizes.Select(n => (JsonNode?)n).ToArray()),
                    ["train_images"] = trainCount,
                    ["n_images"] = scores.Count,
                    ["image_auroc"] = imageAuroc,
                    ["pixel_auroc"] = p.Auroc,
                    ["aupro"] = p.Aupro,
                    ["f1max_pixel"] = p.F1Max,
                    ["normal_mean_distance_per_scale"] = new JsonArray(normalMeanDistance.Select(d => (JsonNode?)d).ToArray()),
                    ["per_scale"] = perScale ? new JsonArray(scaleMetrics.Select(m => (JsonNode?)new JsonObject
                    {
                        ["image_auroc"] = m.Image,
                        ["pixel_auroc"] = m.Pixels.Auroc,
                        ["aupro"] = m.Pixels.Aupro,
                    }).ToArray()) : null,
                    ["per_defect_type"] = DefectTypeJson.Of(types),
                    ["train_featurize_seconds"] = trainFeaturize.Elapsed.TotalSeconds,
                    ["bank_seconds"] = (bankClock.Elapsed - trainFeaturize.Elapsed).TotalSeconds,
                    ["test_featurize_seconds"] = testFeaturize.Elapsed.TotalSeconds,
                    ["search_seconds"] = search.Elapsed.TotalSeconds,
                    ["metrics_seconds"] = metricsClock.Elapsed.TotalSeconds,
                    ["total_seconds"] = total.Elapsed.TotalSeconds,
                    ["torch_threads"] = torch.get_num_threads(),
                    ["peak_working_set_mb"] = peak >> 20,
                };
                AtomicFile.WriteAllText(json.FullName, result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                Console.WriteLine($"wrote {json.FullName}");
            }
            return 0;
        }
        finally
        {
            Dispose(featurizer);
        }
    }

    // The rows of a featurised view; the time spent producing them (the ML.NET pipeline: load, resize, backbone) goes to clock.
    // One row object is reused (each row is used up before the next), so that a multi-MB feature vector per image is not garbage.
    private static IEnumerable<Row> Timed(MLContext ml, IDataView view, Stopwatch clock)
    {
        using IEnumerator<Row> rows = ml.Data.CreateEnumerable<Row>(view, reuseRowObject: true, ignoreMissingColumns: true).GetEnumerator();
        while (true)
        {
            clock.Start();
            bool more = rows.MoveNext();
            clock.Stop();
            if (!more) yield break;
            yield return rows.Current;
        }
    }

    // The fitted chain's OnnxTransformer holds an ONNX Runtime session (native memory); a chain does not dispose its members.
    private static void Dispose(ITransformer transformer)
    {
        if (transformer is IEnumerable<ITransformer> chain)
        {
            foreach (ITransformer member in chain) Dispose(member);
        }
        (transformer as IDisposable)?.Dispose();
    }

    private static long PeakBytes()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.PeakWorkingSet64;
    }

    private static string F(double v) => double.IsNaN(v) ? "nan" : v.ToString("F4", Inv);
}
