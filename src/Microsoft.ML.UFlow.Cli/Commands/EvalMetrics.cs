using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Metrics;

namespace Microsoft.ML.UFlow.Cli.Commands;

/// <summary>
/// The metrics 'uflow eval' reports for one scored test set: image-level ones for every model, pixel ones from the
/// anomaly map, and the NFA segmentation's mIoU and false alarms only where the model has the segmentation.
/// </summary>
internal sealed class EvalMetrics
{
    private EvalMetrics(AnomalyDetectionMetrics detection, List<(string Name, string Value)> rows, IReadOnlyList<DefectTypeMetrics> byDefectType, Dictionary<string, object> json)
    {
        Detection = detection;
        Rows = rows;
        ByDefectType = byDefectType;
        Json = json;
    }

    /// <summary>The K of ML.NET's detection rate at K false positives (its default).</summary>
    public const int FalsePositiveCount = 10;

    /// <summary>Image-level metrics (ML.NET's anomaly-detection evaluator).</summary>
    public AnomalyDetectionMetrics Detection { get; }

    /// <summary>The table rows (metric name, formatted value), in print order.</summary>
    public IReadOnlyList<(string Name, string Value)> Rows { get; }

    /// <summary>The metrics of each defect type (normal images first).</summary>
    public IReadOnlyList<DefectTypeMetrics> ByDefectType { get; }

    /// <summary>The JSON payload (same names; numbers unformatted; <c>per_defect_type</c> with null for undefined values).</summary>
    public IReadOnlyDictionary<string, object> Json { get; }

    /// <summary>
    /// Computes the metrics of <paramref name="view"/>, the scored test set (<c>Label</c>, <c>MaskPath</c>, <c>DefectType</c>,
    /// <c>Score</c>, <c>PredictedLabel</c>, <c>AnomalyMap</c>, and the NFA columns when <paramref name="model"/> has them);
    /// for a tiled model <paramref name="model"/> is on the images' grid and <paramref name="tilesPerImage"/> goes into the JSON.
    /// </summary>
    public static EvalMetrics Compute(MLContext ml, IDataView view, ModelCapabilities model, int tilesPerImage = 0)
    {
        var detection = ml.AnomalyDetection.Evaluate(view, falsePositiveCount: FalsePositiveCount);
        var rows = new List<(string, string)>();
        var json = new Dictionary<string, object>();
        void Add(string name, object value, string text)
        {
            rows.Add((name, text));
            json[name] = value;
        }
        void AddMetric(string name, double value) => Add(name, value, F(value));

        AddMetric("image_auroc", detection.AreaUnderRocCurve);
        // Without a SegmentationMask column (CS-Flow) the evaluator gives the map's metrics and NaN for the segmentation's.
        var s = ml.AnomalyDetection.EvaluateSegmentation(view, inputWidth: model.InputWidth, inputHeight: model.InputHeight);
        AddMetric("pixel_auroc", s.PixelAuroc);
        AddMetric("aupro", s.Aupro);
        if (model.HasNfa) AddMetric("miou_nfa", s.MeanIouAtNfa);
        AddMetric("f1max_pixel", s.F1MaxPixel);
        if (model.HasNfa) Add("false_alarm_images", s.FalseAlarmImages, s.FalseAlarmImages.ToString(CultureInfo.InvariantCulture));
        Add("n_images", s.ImageCount, s.ImageCount.ToString(CultureInfo.InvariantCulture));
        json["model_kind"] = model.Kind == ModelKind.CsFlow ? "csflow" : "uflow";
        json["nfa_available"] = model.HasNfa;
        // The grid the pixel metrics were computed on (W×H): the input's aspect, shorter side S (MapGrid).
        json["input_width"] = model.InputWidth;
        json["input_height"] = model.InputHeight;
        json["map_width"] = model.MapWidth;
        json["map_height"] = model.MapHeight;
        if (model.Tiling is { } tiling)
        {
            // The grid above is then the images' full resolution, stitched from tiles of the model's input size.
            json["tile_size"] = tiling.TileSize;
            json["tile_overlap"] = tiling.Overlap;
            json["tiles_per_image"] = tilesPerImage;
        }
        var byType = ml.AnomalyDetection.EvaluateByDefectType(view, inputWidth: model.InputWidth, inputHeight: model.InputHeight);
        json["per_defect_type"] = DefectTypeJson.Of(byType);
        return new EvalMetrics(detection, rows, byType, json);
    }

    /// <summary>
    /// The per-type table: images, image AUROC against the normal images, images flagged by the score threshold, and for
    /// models with the NFA segmentation the images with a detection, mIoU, pixel precision and recall.
    /// </summary>
    public IReadOnlyList<string[]> DefectTypeTable(out string[] header)
    {
        bool withMasks = ByDefectType.Any(t => t.Segmentation is not null);
        header = withMasks
            ? ["defect type", "images", "image AUROC", "flagged", "NFA detected", "mIoU", "precision", "recall"]
            : ["defect type", "images", "image AUROC", "flagged"];
        var rows = new List<string[]>();
        foreach (DefectTypeMetrics t in ByDefectType)
        {
            string flagged = t.FlaggedImageCount?.ToString(CultureInfo.InvariantCulture) ?? "-";
            string[] row = [t.DefectType + (t.IsAnomalous ? "" : " (normal)"), t.ImageCount.ToString(CultureInfo.InvariantCulture), Fn(t.ImageAuroc), flagged];
            if (withMasks)
            {
                DefectTypeSegmentation s = t.Segmentation!;
                row = [.. row, s.ImagesWithDetection.ToString(CultureInfo.InvariantCulture), Fn(s.MeanIou), Fn(s.Precision), Fn(s.Recall)];
            }
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>A metric as the tables show it, "-" where it is undefined (NaN).</summary>
    private static string Fn(double v) => double.IsNaN(v) ? "-" : F(v);

    /// <summary>Formats a metric as the table shows it.</summary>
    public static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
}
