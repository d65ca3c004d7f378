using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Evaluation;
using Microsoft.ML.UFlow.Metrics;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api;

public sealed partial class AnomalyDetectionCatalog
{
    /// <summary>
    /// Image-level evaluation (ML.NET's <c>AnomalyDetection.Evaluate</c>): AUROC of <paramref name="scoreColumnName"/>
    /// against <paramref name="labelColumnName"/> (true = anomalous) and the detection rate at K false positives.
    /// </summary>
    /// <exception cref="SchemaMismatchException">A column is missing or has the wrong type.</exception>
    public AnomalyDetectionMetrics Evaluate(IDataView data, string labelColumnName = DataCatalog.LabelColumn, string scoreColumnName = UFlowColumns.Score, int falsePositiveCount = 10)
    {
        ArgumentNullException.ThrowIfNull(data);
        data.Schema.Require(labelColumnName, ColumnType.Boolean, nameof(Evaluate));
        data.Schema.Require(scoreColumnName, ColumnType.Single, nameof(Evaluate));
        var evaluator = new ImageScoreEvaluator();
        foreach (var row in data.GetRows()) evaluator.Add(row.Get<float>(scoreColumnName), row.Get<bool>(labelColumnName));
        var m = evaluator.Compute(falsePositiveCount);
        return new AnomalyDetectionMetrics(m.Auroc, m.DetectionRateAtFalsePositiveCount, m.FalsePositiveCount, m.ImageCount, m.AnomalousCount);
    }

    /// <summary>
    /// Pixel-level evaluation at the maps' resolution (256×256 for U-Flow): pixel AUROC, AUPRO (FPR ≤ 0.3), F1-max of the
    /// anomaly map, U-Flow mIoU of the NFA segmentation mask, and the number of normal images with a false alarm.
    /// </summary>
    /// <exception cref="SchemaMismatchException">A column is missing or has the wrong type.</exception>
    /// <exception cref="ArgumentException">A map's size differs from its ground truth's.</exception>
    public SegmentationMetrics EvaluateSegmentation(IDataView data, string groundTruthColumnName = UFlowColumns.GroundTruth, string anomalyMapColumnName = UFlowColumns.AnomalyMap,
        string segmentationMaskColumnName = UFlowColumns.SegmentationMask, string labelColumnName = DataCatalog.LabelColumn)
    {
        ArgumentNullException.ThrowIfNull(data);
        var map2d = ColumnType.Tensor(-1, -1);
        data.Schema.Require(groundTruthColumnName, map2d, nameof(EvaluateSegmentation));
        data.Schema.Require(anomalyMapColumnName, map2d, nameof(EvaluateSegmentation));
        data.Schema.Require(segmentationMaskColumnName, map2d, nameof(EvaluateSegmentation));
        data.Schema.Require(labelColumnName, ColumnType.Boolean, nameof(EvaluateSegmentation));
        var pixels = new PixelEvaluator();
        var iou = new MeanIouAccumulator();
        int falseAlarms = 0, images = 0;
        bool[] predicted = [];
        foreach (var row in data.GetRows())
        {
            var gt = row.Get<Tensor>(groundTruthColumnName);
            var map = row.Get<Tensor>(anomalyMapColumnName);
            var mask = row.Get<Tensor>(segmentationMaskColumnName);
            if (!map.SameShape(gt.Shape) || !mask.SameShape(gt.Shape))
            {
                throw new ArgumentException($"Row {images}: '{anomalyMapColumnName}' {map}, '{segmentationMaskColumnName}' {mask} and '{groundTruthColumnName}' {gt} must have the same size.");
            }
            pixels.Add(map.Span, gt.Span, gt.Shape[0], gt.Shape[1]);
            bool any = MaskPixels(mask, ref predicted);
            iou.Add(predicted, gt.Span);
            if (any && !row.Get<bool>(labelColumnName)) falseAlarms++;
            images++;
        }
        var p = pixels.Compute();
        return new SegmentationMetrics(p.Auroc, p.Aupro, iou.Mean, p.F1Max, p.F1MaxThreshold, falseAlarms, images, p.AnomalousPixelCount, p.RegionCount);
    }

    /// <summary>
    /// The metrics split by defect type, so that one sees which kinds of defect a model misses: per type, the image AUROC
    /// of its images against all normal images, the images whose <paramref name="predictedLabelColumnName"/> is true
    /// (when the view has that column), and, when the view has <paramref name="segmentationMaskColumnName"/> and
    /// <paramref name="groundTruthColumnName"/>, the images with a detection, the mean IoU, and the pooled pixel precision
    /// and recall of the masks. The normal images come first (their flagged images and detections are false alarms), then
    /// the defect types in ordinal order.
    /// </summary>
    /// <exception cref="SchemaMismatchException">A required column is missing or has the wrong type, an optional column
    /// has the wrong type, or an optional column named other than its default is missing.</exception>
    /// <exception cref="ArgumentException">A mask's size differs from its ground truth's, or a score is NaN.</exception>
    public IReadOnlyList<DefectTypeMetrics> EvaluateByDefectType(IDataView data, string defectTypeColumnName = DataCatalog.DefectTypeColumn,
        string labelColumnName = DataCatalog.LabelColumn, string scoreColumnName = UFlowColumns.Score, string predictedLabelColumnName = UFlowColumns.PredictedLabel,
        string segmentationMaskColumnName = UFlowColumns.SegmentationMask, string groundTruthColumnName = UFlowColumns.GroundTruth)
    {
        ArgumentNullException.ThrowIfNull(data);
        DataSchema schema = data.Schema;
        schema.Require(defectTypeColumnName, ColumnType.Text, nameof(EvaluateByDefectType));
        schema.Require(labelColumnName, ColumnType.Boolean, nameof(EvaluateByDefectType));
        schema.Require(scoreColumnName, ColumnType.Single, nameof(EvaluateByDefectType));
        bool withFlags = HasOptionalColumn(schema, predictedLabelColumnName, UFlowColumns.PredictedLabel, ColumnType.Boolean);
        bool withMask = HasOptionalColumn(schema, segmentationMaskColumnName, UFlowColumns.SegmentationMask, ColumnType.Tensor(-1, -1));
        bool withTruth = HasOptionalColumn(schema, groundTruthColumnName, UFlowColumns.GroundTruth, ColumnType.Tensor(-1, -1));
        bool withMasks = withMask && withTruth;
        var breakdown = new DefectTypeBreakdown();
        bool[] predicted = [];
        foreach (var row in data.GetRows())
        {
            string type = row.Get<string>(defectTypeColumnName);
            bool isAnomalous = row.Get<bool>(labelColumnName);
            float score = row.Get<float>(scoreColumnName);
            bool? flagged = withFlags ? row.Get<bool>(predictedLabelColumnName) : null;
            if (!withMasks)
            {
                breakdown.Add(type, isAnomalous, score, flagged);
                continue;
            }
            var mask = row.Get<Tensor>(segmentationMaskColumnName);
            var gt = row.Get<Tensor>(groundTruthColumnName);
            if (!mask.SameShape(gt.Shape))
            {
                throw new ArgumentException($"Row {breakdown.Count}: '{segmentationMaskColumnName}' {mask} and '{groundTruthColumnName}' {gt} must have the same size.");
            }
            MaskPixels(mask, ref predicted);
            breakdown.Add(type, isAnomalous, score, flagged, predicted, gt.Span);
        }
        return breakdown.Compute();
    }

    /// <summary>
    /// Whether the view has an optional column. Under its default name an absent column just turns its metrics off; a name
    /// the caller chose must exist, so that a misspelt name is refused rather than silently dropping those metrics.
    /// </summary>
    private static bool HasOptionalColumn(DataSchema schema, string name, string defaultName, ColumnType type)
    {
        if (schema.IndexOf(name) < 0 && name == defaultName) return false;
        schema.Require(name, type, nameof(EvaluateByDefectType));
        return true;
    }

    /// <summary>The pixels of a segmentation mask column (set where &gt; 0.5) into <paramref name="pixels"/>, resized when needed; true when any is set.</summary>
    private static bool MaskPixels(Tensor mask, ref bool[] pixels)
    {
        if (pixels.Length != mask.Length) pixels = new bool[mask.Length];
        var m = mask.Span;
        bool any = false;
        for (int i = 0; i < m.Length; i++) { pixels[i] = m[i] > 0.5f; any |= pixels[i]; }
        return any;
    }
}
