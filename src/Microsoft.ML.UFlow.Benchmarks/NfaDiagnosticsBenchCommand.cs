using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Metrics;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow.Benchmarks;

// ML.NET has a namespace Microsoft.ML.Command, which hides System.CommandLine's Command inside namespace Microsoft.ML.*.
using Command = System.CommandLine.Command;

/// <summary>
/// <c>uflow bench nfa-diagnostics</c>: why the NFA detects what it detects (issue 22). For a trained U-Flow model and a
/// test split it measures, per latent scale: the calibration of the normal test images' latents (mean z², METHOD.md
/// A.7.8), the per-cell statistic u = Σ_c z²/C at defect cells against normal cells, which scales alone would detect
/// each image (per-scale map minimum against log10 N_T, A.7.6), and how the number of tests compares with the signal:
/// the log10 PFA of the "oracle" region (exactly the defect's cells: |R|·log10 tail(u_min), A.7.3) and the u that a
/// region of the defect's size would need. It also reruns the segmentation with every scale divided by the normal test
/// images' mean z² (an oracle calibration that looks at test labels: a diagnosis, not a method) and reports the fraction
/// of exactly-zero backbone features (post-ReLU point masses, which let a flow's likelihood grow without bound). A model
/// calibrated on held-out normals is diagnosed on its raw latents, and its NFA is reported as saved and uncalibrated.
/// </summary>
internal static class NfaDiagnosticsBenchCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "A U-Flow model .zip ('uflow train').", Required = true };
        var data = new Option<DirectoryInfo>("--data") { Description = "The data set folder whose test split is diagnosed (MVTec AD category or MTD).", Required = true };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the results as JSON to this file." };
        var command = new Command("nfa-diagnostics", "Per-scale latent calibration, defect vs normal statistics and the NFA's detections per scale against its number of tests.");
        command.Options.Add(model);
        command.Options.Add(data);
        command.Options.Add(json);
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(data)!, parse.GetValue(json)));
        return command;
    }

    /// <summary>The columns read from the scored test set.</summary>
    private sealed class Row
    {
        [ColumnName(AnomalyColumns.Label)] public float Label { get; set; }
        [ColumnName(AnomalyColumns.MaskPath)] public string MaskPath { get; set; } = "";
        [ColumnName(AnomalyColumns.Latents)] public float[] Latents { get; set; } = [];
        [ColumnName(AnomalyColumns.Latents + AnomalyColumns.ShapesSuffix)] public float[] LatentShapes { get; set; } = [];
        [ColumnName(AnomalyColumns.Features)] public float[] Features { get; set; } = [];
        [ColumnName(AnomalyColumns.Features + AnomalyColumns.ShapesSuffix)] public float[] FeatureShapes { get; set; } = [];
        [ColumnName(AnomalyColumns.SegmentationMask)] public bool[] SegmentationMask { get; set; } = [];
    }

    /// <summary>One test image: its label, its mask at the map size, and its latents per scale (u per cell).</summary>
    private sealed record Image(bool Defective, float[] Mask, NfaLatentScale[] Latents, bool Detected);

    private static int Run(FileInfo modelFile, DirectoryInfo data, FileInfo? json)
    {
        var ml = new MLContext(seed: 0);
        ml.DisableOnnxRuntimeSpinning(); // as uflow eval: the same features for less CPU
        ITransformer model = UFlowModelFile.Load(ml, modelFile.FullName, out _);
        try
        {
            IDataView test = ml.Data.LoadAnomalyImages(data.FullName, AnomalyImageSplit.Test);
            IDataView scored = model.Transform(test);
            if (scored.Schema.GetColumnOrNull(AnomalyColumns.Latents) is null)
                throw new ArgumentException($"'{modelFile.Name}' has no '{AnomalyColumns.Latents}' column: nfa-diagnostics needs a U-Flow model.");
            // A calibrated model's Latents column holds z/sqrt(s_l): undo it, so that the statistics are the flow's own.
            FlowModelFacts facts = UFlowModelInfo.Read(model);
            double[]? divisors = facts.CalibrationDivisors?.ToArray();
            // The model's map grid (W×H of the input's aspect, shorter side S), masks sized as uflow eval sizes them.
            var map = (Height: facts.MapHeight, Width: facts.MapWidth);
            var masks = GroundTruthReader.For(scored.Schema, map, facts.InputWidth, facts.InputHeight);
            var images = new List<Image>();
            var zeroCounts = new List<(long Zeros, long Total)>();
            foreach (Row row in ml.Data.CreateEnumerable<Row>(scored, reuseRowObject: false, ignoreMissingColumns: true))
            {
                var mask = new float[map.Height * map.Width];
                masks.Read(row.MaskPath, map, mask);
                var scales = LatentLayout.Split(row.Latents, row.LatentShapes, AnomalyColumns.Latents)
                    .Select((s, l) => Scaled(new NfaLatentScale(s.Values.ToArray(), s.Channels, s.Height, s.Width), divisors is null ? 1 : Math.Sqrt(divisors[l]))).ToArray();
                images.Add(new Image(row.Label > 0.5f, mask, scales, row.SegmentationMask.Any(b => b)));
                CountZeros(row, zeroCounts);
            }
            var report = Diagnose(images, map, zeroCounts, divisors);
            if (facts.HeldOut is HeldOutEvaluation heldOut)
            {
                report["held_out_images"] = heldOut.Images;
                report["held_out_mean_z2"] = heldOut.MeanSquarePerScale.ToArray();
            }
            Print(report);
            if (json is not null)
            {
                Data.AtomicFile.WriteAllText(json.FullName, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
                Console.WriteLine($"wrote {json.FullName}");
            }
            return 0;
        }
        finally
        {
            Dispose(model);
        }
    }

    // The loaded chain's OnnxTransformers hold ONNX Runtime sessions (native memory); a chain does not dispose its members.
    private static void Dispose(ITransformer transformer)
    {
        if (transformer is IEnumerable<ITransformer> chain)
        {
            foreach (ITransformer member in chain) Dispose(member);
        }
        (transformer as IDisposable)?.Dispose();
    }

    private static void CountZeros(Row row, List<(long Zeros, long Total)> counts)
    {
        if (row.Features.Length == 0 || row.FeatureShapes.Length == 0) return;
        var scales = LatentLayout.Split(row.Features, row.FeatureShapes, AnomalyColumns.Features);
        while (counts.Count < scales.Length) counts.Add((0, 0));
        for (int l = 0; l < scales.Length; l++)
        {
            long zeros = 0;
            foreach (float v in scales[l].Values.Span) if (v == 0f) zeros++;
            counts[l] = (counts[l].Zeros + zeros, counts[l].Total + scales[l].Values.Length);
        }
    }

    private static Dictionary<string, object> Diagnose(List<Image> images, (int Height, int Width) map, List<(long Zeros, long Total)> zeroCounts, double[]? divisors)
    {
        var first = images[0].Latents;
        int scaleCount = first.Length;
        double log10Tests = NfaNumberOfTests.Log10(first.Select(s => s.Height * s.Width).ToArray());
        var perScale = new List<Dictionary<string, object>>();
        var normalMean = new double[scaleCount];
        for (int l = 0; l < scaleCount; l++)
        {
            NfaLatentScale shape = first[l];
            int c = shape.Channels, h = shape.Height, w = shape.Width;
            var normalCells = new List<double>();
            var defectCells = new List<double>();
            var cleanCellsOfDefective = new List<double>();
            var oracleLogPfa = new List<double>();
            var oracleCells = new List<double>();
            var requiredU = new List<double>();
            foreach (Image image in images)
            {
                double[] u = CellStatistic(image.Latents[l]);
                bool[] defect = DownsampleMask(image.Mask, map, h, w);
                if (!image.Defective)
                {
                    normalCells.AddRange(u);
                    continue;
                }
                int cells = 0;
                double uMin = double.PositiveInfinity;
                for (int p = 0; p < u.Length; p++)
                {
                    if (defect[p])
                    {
                        defectCells.Add(u[p]);
                        cells++;
                        uMin = Math.Min(uMin, u[p]);
                    }
                    else cleanCellsOfDefective.Add(u[p]);
                }
                if (cells == 0) continue;
                oracleCells.Add(cells);
                oracleLogPfa.Add(ChernoffChiSquare.Log10Pfa(cells, uMin * c, c));
                requiredU.Add(RequiredStatistic(cells, c, log10Tests));
            }
            normalMean[l] = normalCells.Count == 0 ? double.NaN : normalCells.Average();
            perScale.Add(new Dictionary<string, object>
            {
                ["scale"] = l,
                ["shape"] = $"{c}x{h}x{w}",
                ["normal_images_mean_z2"] = normalMean[l],
                ["normal_cells_u"] = Quantiles(normalCells),
                ["defective_images_clean_cells_u"] = Quantiles(cleanCellsOfDefective),
                ["defect_cells_u"] = Quantiles(defectCells),
                ["defect_cells_fraction_above_normal_p99"] = FractionAbove(defectCells, Quantile(normalCells, 0.99)),
                ["oracle_region_cells_median"] = Quantile(oracleCells, 0.5),
                ["oracle_region_log10_pfa_median"] = Quantile(oracleLogPfa, 0.5),
                ["oracle_regions_below_minus_log10_nt"] = oracleLogPfa.Count(v => v < -log10Tests),
                ["oracle_regions"] = oracleLogPfa.Count,
                ["u_needed_by_defect_sized_region_median"] = Quantile(requiredU, 0.5),
                ["feature_zero_fraction"] = l < zeroCounts.Count && zeroCounts[l].Total > 0 ? (double)zeroCounts[l].Zeros / zeroCounts[l].Total : double.NaN,
            });
        }

        var asIs = Detections(images, map, log10Tests, scale: null);
        var calibrated = Detections(images, map, log10Tests, normalMean);
        var asSaved = divisors is null ? asIs : Detections(images, map, log10Tests, divisors);
        foreach (var s in perScale)
        {
            int l = (int)s["scale"];
            s["images_detected_by_this_scale_alone"] = asIs.PerScale[l];
            s["images_detected_by_this_scale_alone_test_normal_calibrated"] = calibrated.PerScale[l];
        }
        return new Dictionary<string, object>
        {
            ["log10_number_of_tests"] = log10Tests,
            ["images"] = images.Count,
            ["defective_images"] = images.Count(i => i.Defective),
            ["model_nfa_detected_defective"] = images.Count(i => i.Defective && i.Detected),
            ["model_nfa_detected_normal"] = images.Count(i => !i.Defective && i.Detected),
            ["model_calibration_divisors"] = divisors ?? [],
            ["recomputed_detected_defective"] = asSaved.Defective,
            ["recomputed_detected_normal"] = asSaved.Normal,
            ["uncalibrated_detected_defective"] = asIs.Defective,
            ["uncalibrated_detected_normal"] = asIs.Normal,
            ["recomputed_miou"] = asSaved.MeanIou,
            ["uncalibrated_miou"] = asIs.MeanIou,
            ["test_normal_calibrated_miou"] = calibrated.MeanIou,
            ["test_normal_calibrated_detected_defective"] = calibrated.Defective,
            ["test_normal_calibrated_detected_normal"] = calibrated.Normal,
            ["scales"] = perScale,
        };
    }

    /// <summary>u = Σ_c z²/C per cell (A.7.1's statistic over C).</summary>
    private static double[] CellStatistic(NfaLatentScale s)
    {
        int cells = s.Height * s.Width;
        var u = new double[cells];
        ReadOnlySpan<float> z = s.Values.Span;
        for (int ch = 0; ch < s.Channels; ch++)
        {
            ReadOnlySpan<float> plane = z.Slice(ch * cells, cells);
            for (int p = 0; p < cells; p++) u[p] += (double)plane[p] * plane[p];
        }
        for (int p = 0; p < cells; p++) u[p] /= s.Channels;
        return u;
    }

    /// <summary>
    /// A cell is a defect cell when at least half of the map pixels it covers are defective; a map pixel belongs to the
    /// cell its row and column fall in (the map need not be a whole multiple of the latent grid: 293 rows over 64 cells).
    /// </summary>
    private static bool[] DownsampleMask(float[] mask, (int Height, int Width) map, int h, int w)
    {
        var defective = new double[h * w];
        var covered = new int[h * w];
        for (int y = 0; y < map.Height; y++)
        {
            int i = (int)((long)y * h / map.Height);
            for (int x = 0; x < map.Width; x++)
            {
                int cell = i * w + (int)((long)x * w / map.Width);
                defective[cell] += mask[y * map.Width + x];
                covered[cell]++;
            }
        }
        var cells = new bool[h * w];
        for (int c = 0; c < cells.Length; c++) cells[c] = defective[c] >= 0.5 * covered[c];
        return cells;
    }

    /// <summary>The u &gt; 1 at which a region of <paramref name="cells"/> cells whose minimum is u reaches log10 PFA = −log10 N_T.</summary>
    private static double RequiredStatistic(int cells, int channels, double log10Tests)
    {
        double lo = 1, hi = 2;
        while (ChernoffChiSquare.Log10Pfa(cells, hi * channels, channels) > -log10Tests) hi *= 2;
        for (int k = 0; k < 100; k++)
        {
            double mid = 0.5 * (lo + hi);
            if (ChernoffChiSquare.Log10Pfa(cells, mid * channels, channels) > -log10Tests) lo = mid; else hi = mid;
        }
        return hi;
    }

    /// <summary>Reruns the segmentation; with <paramref name="scale"/>, scale l's latents are divided by sqrt(scale[l]).</summary>
    private static (int Defective, int Normal, int[] PerScale, double MeanIou) Detections(List<Image> images, (int Height, int Width) map, double log10Tests, double[]? scale)
    {
        var segmenter = new NfaSegmenter(new NfaSegmentationOptions { OutputSize = Math.Min(map.Height, map.Width) });
        var logNfa = new float[map.Height * map.Width];
        var mask = new bool[map.Height * map.Width];
        NfaLatentScale finest = images[0].Latents[0];
        if (segmenter.OutputGrid(finest.Height, finest.Width) != map)
            throw new InvalidOperationException($"The NFA grid {segmenter.OutputGrid(finest.Height, finest.Width)} differs from the model's map {map}.");
        int defective = 0, normal = 0;
        var perScale = new int[images[0].Latents.Length];
        var iou = new MeanIouAccumulator();
        foreach (Image image in images)
        {
            var latents = scale is null ? image.Latents : image.Latents.Select((s, l) => Scaled(s, 1.0 / Math.Sqrt(scale[l]))).ToArray();
            var result = segmenter.Segment(latents, logNfa, mask);
            iou.Add(mask, image.Mask);
            if (result.IsAnomalous)
            {
                if (image.Defective) defective++; else normal++;
            }
            for (int l = 0; l < latents.Length; l++)
            {
                double min = 0;
                foreach (float v in segmenter.ScaleLogPfaMap(l)) if (!float.IsNaN(v)) min = Math.Min(min, v);
                if (image.Defective && min + log10Tests < 0) perScale[l]++;
            }
        }
        return (defective, normal, perScale, iou.Mean);
    }

    private static NfaLatentScale Scaled(NfaLatentScale s, double factor)
    {
        var values = s.Values.ToArray();
        for (int i = 0; i < values.Length; i++) values[i] = (float)(values[i] * factor);
        return new NfaLatentScale(values, s.Channels, s.Height, s.Width);
    }

    private static Dictionary<string, double> Quantiles(List<double> values) => new()
    {
        ["count"] = values.Count,
        ["mean"] = values.Count == 0 ? double.NaN : values.Average(),
        ["p10"] = Quantile(values, 0.10),
        ["p50"] = Quantile(values, 0.50),
        ["p90"] = Quantile(values, 0.90),
        ["p99"] = Quantile(values, 0.99),
    };

    private static double Quantile(List<double> values, double q)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        return sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(q * sorted.Length))];
    }

    private static double FractionAbove(List<double> values, double threshold)
        => values.Count == 0 ? double.NaN : (double)values.Count(v => v > threshold) / values.Count;

    private static void Print(Dictionary<string, object> r)
    {
        static string F(object v) => v is double d ? d.ToString("G4", CultureInfo.InvariantCulture) : Convert.ToString(v, CultureInfo.InvariantCulture) ?? "";
        Console.WriteLine($"log10 N_T = {F(r["log10_number_of_tests"])}; defective images {r["defective_images"]} of {r["images"]}; " +
            $"the model's calibration divisors [{string.Join(", ", ((double[])r["model_calibration_divisors"]).Select(d => F(d)))}]");
        Console.WriteLine($"NFA detections (log NFA < 0): model {r["model_nfa_detected_defective"]} defective / {r["model_nfa_detected_normal"]} normal; " +
            $"recomputed {r["recomputed_detected_defective"]} / {r["recomputed_detected_normal"]} (mIoU {F(r["recomputed_miou"])}); uncalibrated (paper) {r["uncalibrated_detected_defective"]} / {r["uncalibrated_detected_normal"]} (mIoU {F(r["uncalibrated_miou"])}); " +
            $"with the test normals' calibration {r["test_normal_calibrated_detected_defective"]} / {r["test_normal_calibrated_detected_normal"]} (mIoU {F(r["test_normal_calibrated_miou"])})");
        foreach (var s in (List<Dictionary<string, object>>)r["scales"])
        {
            var n = (Dictionary<string, double>)s["normal_cells_u"];
            var d = (Dictionary<string, double>)s["defect_cells_u"];
            Console.WriteLine($"scale {s["scale"]} ({s["shape"]}): normal mean z² {F(s["normal_images_mean_z2"])}, zeros in features {F(s["feature_zero_fraction"])}");
            Console.WriteLine($"  u normal cells p50/p90/p99 {F(n["p50"])}/{F(n["p90"])}/{F(n["p99"])}; defect cells p10/p50/p90 {F(d["p10"])}/{F(d["p50"])}/{F(d["p90"])}; defect cells above the normal p99 {F(s["defect_cells_fraction_above_normal_p99"])}");
            Console.WriteLine($"  oracle region (the defect's cells): median {F(s["oracle_region_cells_median"])} cells, median log10 PFA {F(s["oracle_region_log10_pfa_median"])}, " +
                $"{s["oracle_regions_below_minus_log10_nt"]}/{s["oracle_regions"]} below −log10 N_T; u needed (median) {F(s["u_needed_by_defect_sized_region_median"])}");
            Console.WriteLine($"  images detected by this scale alone: {s["images_detected_by_this_scale_alone"]} (test-normal calibrated: {s["images_detected_by_this_scale_alone_test_normal_calibrated"]})");
        }
    }
}
