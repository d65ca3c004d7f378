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
            if (predicted.Length != mask.Length) predicted = new bool[mask.Length];
            var m = mask.Span;
            bool any = false;
            for (int i = 0; i < m.Length; i++) { predicted[i] = m[i] > 0.5f; any |= predicted[i]; }
            iou.Add(predicted, gt.Span);
            if (any && !row.Get<bool>(labelColumnName)) falseAlarms++;
            images++;
        }
        var p = pixels.Compute();
        return new SegmentationMetrics(p.Auroc, p.Aupro, iou.Mean, p.F1Max, p.F1MaxThreshold, falseAlarms, images, p.AnomalousPixelCount, p.RegionCount);
    }
}
