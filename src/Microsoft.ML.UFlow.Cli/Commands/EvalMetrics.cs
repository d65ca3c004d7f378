using System.Globalization;
using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Evaluation;
using Microsoft.ML.UFlow.Metrics;
using Microsoft.ML.UFlow.Tensors;

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

    /// <summary>Image-level metrics.</summary>
    public AnomalyDetectionMetrics Detection { get; }

    /// <summary>The table rows (metric name, formatted value), in print order.</summary>
    public IReadOnlyList<(string Name, string Value)> Rows { get; }

    /// <summary>The metrics of each defect type (normal images first).</summary>
    public IReadOnlyList<DefectTypeMetrics> ByDefectType { get; }

    /// <summary>The JSON payload (same names; numbers unformatted; <c>per_defect_type</c> with null for undefined values).</summary>
    public IReadOnlyDictionary<string, object> Json { get; }

    /// <summary>Computes the metrics of <paramref name="view"/> (label, score, map and ground truth; the NFA columns when <paramref name="model"/> has them).</summary>
    public static EvalMetrics Compute(UFlowContext ctx, IDataView view, ModelCapabilities model)
    {
        var detection = ctx.AnomalyDetection.Evaluate(view);
        var rows = new List<(string, string)>();
        var json = new Dictionary<string, object>();
        void Add(string name, object value, string text)
        {
            rows.Add((name, text));
            json[name] = value;
        }
        void AddMetric(string name, double value) => Add(name, value, F(value));

        AddMetric("image_auroc", detection.AreaUnderRocCurve);
        int images;
        if (model.HasNfa)
        {
            var s = ctx.AnomalyDetection.EvaluateSegmentation(view);
            AddMetric("pixel_auroc", s.PixelAuroc);
            AddMetric("aupro", s.Aupro);
            AddMetric("miou_nfa", s.MeanIouAtNfa);
            AddMetric("f1max_pixel", s.F1MaxPixel);
            Add("false_alarm_images", s.FalseAlarmImages, s.FalseAlarmImages.ToString(CultureInfo.InvariantCulture));
            images = s.ImageCount;
        }
        else
        {
            var p = PixelMetricsOfMap(view);
            AddMetric("pixel_auroc", p.Auroc);
            AddMetric("aupro", p.Aupro);
            AddMetric("f1max_pixel", p.F1Max);
            images = p.ImageCount;
        }
        Add("n_images", images, images.ToString(CultureInfo.InvariantCulture));
        json["model_kind"] = model.Kind == ModelKind.CsFlow ? "csflow" : "uflow";
        json["nfa_available"] = model.HasNfa;
        var byType = ctx.AnomalyDetection.EvaluateByDefectType(view);
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

    /// <summary>Pixel AUROC, AUPRO and F1-max of the anomaly maps against the ground truth (METHOD.md Part B), for models without a segmentation mask.</summary>
    private static PixelMetrics PixelMetricsOfMap(IDataView view)
    {
        var map2d = ColumnType.Tensor(-1, -1);
        view.Schema.Require(UFlowColumns.GroundTruth, map2d, "uflow eval");
        view.Schema.Require(UFlowColumns.AnomalyMap, map2d, "uflow eval");
        var pixels = new PixelEvaluator();
        int index = 0;
        foreach (var row in view.GetRows())
        {
            var gt = row.Get<Tensor>(UFlowColumns.GroundTruth);
            var map = row.Get<Tensor>(UFlowColumns.AnomalyMap);
            if (!map.SameShape(gt.Shape)) throw new ArgumentException($"Row {index}: '{UFlowColumns.AnomalyMap}' {map} and '{UFlowColumns.GroundTruth}' {gt} must have the same size.");
            pixels.Add(map.Span, gt.Span, gt.Shape[0], gt.Shape[1]);
            index++;
        }
        return pixels.Compute();
    }

    /// <summary>Formats a metric as the table shows it.</summary>
    public static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
}
