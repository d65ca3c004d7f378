using System.Globalization;

namespace Microsoft.ML.UFlow.Benchmarks.Quality;

/// <summary>One epoch of a quality run: its training loss and time, the test metrics when it was evaluated, the peak memory,
/// and with held-out images their evaluation.</summary>
internal sealed record QualityEpochRow(int Epoch, double Loss, double TrainSeconds, QualityMetrics? Metrics, long PeakBytes, HeldOutEvaluation? HeldOut = null);

/// <summary>
/// The metric-vs-epoch curve of <c>uflow bench quality</c> as CSV (one row per epoch; the metric columns are empty for
/// epochs that were not evaluated), and reading it back, so that a resumed run continues the curve of the run it
/// continues. Values are written rounded (4 decimals), so rows read back carry those rounded values. A run with held-out
/// images has, after <c>peak_mb</c>, their loss and mean z² per scale.
/// </summary>
internal static class QualityCurveCsv
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private const int MetricColumns = 17; // eval_s … anomalous, before the per-scale columns

    public static string Header(int scales, bool heldOut = false)
        => "epoch,loss,train_s,eval_s,image_auroc,pixel_auroc,aupro,f1_max,miou_nfa,oracle_miou,oracle_threshold,wide_oracle_miou,wide_oracle_threshold,defective_miou,defective_precision,defective_recall,normal_detected,normal,anomalous_detected,anomalous,"
            + string.Join(",", Enumerable.Range(1, scales).Select(l => $"mean_z2_scale{l}")) + ",peak_mb"
            + (heldOut ? ",held_out_nll," + string.Join(",", Enumerable.Range(1, scales).Select(l => $"held_out_mean_z2_scale{l}")) : "");

    public static string Row(QualityEpochRow r, int scales, bool heldOut = false)
    {
        var m = r.Metrics;
        string metrics = m is null
            ? string.Join(",", Enumerable.Repeat("", MetricColumns + scales))
            : string.Join(",", F(m.Seconds, "F2"), F(m.ImageAuroc), F(m.PixelAuroc), F(m.Aupro), F(m.F1Max), F(m.MeanIouNfa), F(m.OracleMeanIou), F(m.OracleThreshold, "F0"),
                F(m.WideOracleMeanIou), F(m.WideOracleThreshold, "F0"), F(m.DefectiveMeanIou), F(m.DefectivePrecision), F(m.DefectiveRecall),
                m.NormalImagesWithDetection, m.NormalImages, m.AnomalousImagesWithDetection, m.AnomalousImages) + "," + string.Join(",", m.NormalMeanSquarePerScale.Select(v => F(v)));
        string held = !heldOut ? ""
            : r.HeldOut is { } h ? "," + F(h.Loss, "F2") + "," + string.Join(",", h.MeanSquarePerScale.Select(v => F(v)))
            : new string(',', 1 + scales);
        return $"{r.Epoch + 1},{F(r.Loss, "F2")},{F(r.TrainSeconds, "F2")},{metrics},{r.PeakBytes / (1 << 20)}{held}";
    }

    /// <summary>Reads the rows of the first <paramref name="epochs"/> epochs of a curve written with <paramref name="scales"/> scales.</summary>
    /// <exception cref="InvalidDataException">The file is missing rows, has another header, or a row cannot be read.</exception>
    public static List<QualityEpochRow> Read(string path, int epochs, int scales, bool heldOut = false)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"The curve '{path}' of the run being resumed does not exist.");
        string[] lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != Header(scales, heldOut)) throw new InvalidDataException($"The curve '{path}' does not have the header of a {scales}-scale quality run{(heldOut ? " with held-out images" : "")}.");
        int columns = 4 + MetricColumns + scales + (heldOut ? 1 + scales : 0);
        var rows = new List<QualityEpochRow>();
        for (int i = 1; i < lines.Length && rows.Count < epochs; i++)
        {
            string[] c = lines[i].Split(',');
            if (c.Length != columns) throw new InvalidDataException($"Line {i + 1} of '{path}' has {c.Length} columns, expected {columns}.");
            int epoch = int.Parse(c[0], Inv) - 1;
            if (epoch != rows.Count) throw new InvalidDataException($"Line {i + 1} of '{path}' is epoch {epoch + 1}, expected {rows.Count + 1}.");
            QualityMetrics? metrics = c[3].Length == 0 ? null : new QualityMetrics(
                D(c[4]), D(c[5]), D(c[6]), D(c[7]), D(c[8]), D(c[9]), D(c[10]), D(c[11]), D(c[12]), D(c[13]), D(c[14]), D(c[15]),
                int.Parse(c[16], Inv), int.Parse(c[17], Inv), int.Parse(c[18], Inv), int.Parse(c[19], Inv),
                c.Skip(3 + MetricColumns).Take(scales).Select(D).ToArray(), ByDefectType: [], D(c[3])); // the curve keeps no per-type metrics
            int peak = 3 + MetricColumns + scales;
            HeldOutEvaluation? held = !heldOut || c[peak + 1].Length == 0 ? null
                : new HeldOutEvaluation(0, D(c[peak + 1]), c.Skip(peak + 2).Take(scales).Select(D).ToArray()); // the curve keeps no image count
            rows.Add(new QualityEpochRow(epoch, D(c[1]), D(c[2]), metrics, long.Parse(c[peak], Inv) << 20, held));
        }
        if (rows.Count < epochs) throw new InvalidDataException($"The curve '{path}' has {rows.Count} epochs, but the checkpoint has {epochs}.");
        return rows;
    }

    private static string F(double v, string format = "F4") => double.IsNaN(v) ? "nan" : v.ToString(format, Inv);

    private static double D(string s) => s == "nan" ? double.NaN : double.Parse(s, Inv);
}
