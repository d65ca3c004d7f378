using Microsoft.ML.Data;
using Microsoft.ML.UFlow;
using Microsoft.ML.UFlow.Metrics;

namespace Microsoft.ML;

/// <summary>
/// Evaluators of anomaly maps, of the automatic segmentation and per defect type, beside ML.NET's own image-level
/// <c>mlContext.AnomalyDetection.Evaluate</c> (which reads <c>Label</c>, <c>Score</c> and <c>PredictedLabel</c>).
/// </summary>
public static class AnomalyEvaluationCatalog
{
    /// <summary>
    /// Evaluates anomaly maps and the NFA segmentation against the ground-truth masks (METHOD.md Part B): pixel AUROC,
    /// AUPRO (FPR ≤ 0.3), F1-max, and where the data has a <c>SegmentationMask</c> the mIoU at log NFA &lt; 0 and the
    /// normal images with a detection.
    /// </summary>
    /// <param name="catalog">The anomaly-detection catalog.</param>
    /// <param name="data">Scored data: <c>Label</c> (Single), <c>MaskPath</c> (text, empty for normal images),
    /// <c>AnomalyMap</c> (vector of Single on the map grid: S×S for a square input, the input's aspect otherwise) and
    /// optionally <c>SegmentationMask</c> (vector of Boolean, the same grid).</param>
    /// <param name="labelColumnName">The label column (Single, 1 = anomalous).</param>
    /// <param name="maskPathColumnName">The ground-truth mask paths.</param>
    /// <param name="anomalyMapColumnName">The anomaly maps.</param>
    /// <param name="segmentationMaskColumnName">The segmentation masks; when absent under its default name, mIoU is NaN.</param>
    /// <param name="inputWidth">The width the model resized images to: masks are resized like the images, then to the map
    /// grid (METHOD.md Part B, on a grid of the image's aspect). Null: the size of the data's <c>Image</c> column, else the map's.</param>
    /// <param name="inputHeight">The height the model resized images to (null with a width given: a square).</param>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
    /// <exception cref="FileNotFoundException">A mask named by the data does not exist.</exception>
    public static SegmentationMetrics EvaluateSegmentation(this AnomalyDetectionCatalog catalog, IDataView data,
        string labelColumnName = AnomalyColumns.Label, string maskPathColumnName = AnomalyColumns.MaskPath,
        string anomalyMapColumnName = AnomalyColumns.AnomalyMap, string segmentationMaskColumnName = AnomalyColumns.SegmentationMask,
        int? inputWidth = null, int? inputHeight = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(data);
        var schema = data.Schema;
        var label = Require(schema, labelColumnName, NumberDataViewType.Single, "Single (1 = anomalous)");
        var maskPath = Require(schema, maskPathColumnName, TextDataViewType.Instance, "text");
        var map = RequireVector(schema, anomalyMapColumnName, NumberDataViewType.Single);
        var segmentation = Optional(schema, segmentationMaskColumnName, AnomalyColumns.SegmentationMask, BooleanDataViewType.Instance, vector: true);
        var input = GroundTruthReader.InputSize(schema, inputWidth, inputHeight);
        var grid = GroundTruthReader.MapGridOf(KnownSize(map, anomalyMapColumnName), (VectorDataViewType)map.Type, input, anomalyMapColumnName);
        var truth = GroundTruthReader.For(schema, grid, inputWidth, inputHeight);

        var pixels = new PixelEvaluator();
        var iou = new MeanIouAccumulator();
        int falseAlarms = 0, images = 0;
        var gt = new float[grid.Height * grid.Width];
        var columns = new List<DataViewSchema.Column> { label, maskPath, map };
        if (segmentation is { } seg) columns.Add(seg);
        using var cursor = data.GetRowCursor(columns);
        var getLabel = cursor.GetGetter<float>(label);
        var getPath = cursor.GetGetter<ReadOnlyMemory<char>>(maskPath);
        var getMap = cursor.GetGetter<VBuffer<float>>(map);
        var getMask = segmentation is { } s ? cursor.GetGetter<VBuffer<bool>>(s) : null;
        ReadOnlyMemory<char> path = default;
        VBuffer<float> mapValues = default;
        VBuffer<bool> maskValues = default;
        float isAnomalous = 0;
        var predicted = new bool[gt.Length];
        while (cursor.MoveNext())
        {
            getLabel(ref isAnomalous);
            getPath(ref path);
            getMap(ref mapValues);
            truth.Read(path.ToString(), grid, gt);
            float[] mapDense = Dense(mapValues, gt.Length, anomalyMapColumnName, images);
            pixels.Add(mapDense, gt, grid.Height, grid.Width);
            if (getMask is not null)
            {
                getMask(ref maskValues);
                bool any = DenseMask(maskValues, predicted, segmentationMaskColumnName, images);
                iou.Add(predicted, gt);
                if (any && isAnomalous == 0) falseAlarms++;
            }
            images++;
        }
        var p = pixels.Compute();
        return new SegmentationMetrics(p.Auroc, p.Aupro, getMask is null ? double.NaN : iou.Mean, p.F1Max, p.F1MaxThreshold,
            falseAlarms, images, p.AnomalousPixelCount, p.RegionCount);
    }

    /// <summary>
    /// Metrics per defect type (the loaders' <c>DefectType</c> column): image AUROC of each type against all normal images,
    /// the images flagged by <c>PredictedLabel</c>, and where the data has masks the NFA detections, mIoU and pooled pixel
    /// precision/recall; normal images first. Shows which kinds of defect a model misses.
    /// </summary>
    /// <param name="catalog">The anomaly-detection catalog.</param>
    /// <param name="data">Scored data.</param>
    /// <param name="defectTypeColumnName">The defect types (text).</param>
    /// <param name="labelColumnName">The labels (Single, 1 = anomalous).</param>
    /// <param name="scoreColumnName">The image scores (Single).</param>
    /// <param name="predictedLabelColumnName">The predicted labels (Boolean); optional under its default name.</param>
    /// <param name="segmentationMaskColumnName">The segmentation masks; optional under its default name.</param>
    /// <param name="maskPathColumnName">The ground-truth mask paths; optional under its default name.</param>
    /// <param name="inputWidth">As for <see cref="EvaluateSegmentation"/>.</param>
    /// <param name="inputHeight">As for <see cref="EvaluateSegmentation"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A required column, or an optional one named by the caller, is missing
    /// or of the wrong type.</exception>
    public static IReadOnlyList<DefectTypeMetrics> EvaluateByDefectType(this AnomalyDetectionCatalog catalog, IDataView data,
        string defectTypeColumnName = AnomalyColumns.DefectType, string labelColumnName = AnomalyColumns.Label,
        string scoreColumnName = AnomalyColumns.Score, string predictedLabelColumnName = AnomalyColumns.PredictedLabel,
        string segmentationMaskColumnName = AnomalyColumns.SegmentationMask, string maskPathColumnName = AnomalyColumns.MaskPath,
        int? inputWidth = null, int? inputHeight = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(data);
        var schema = data.Schema;
        var type = Require(schema, defectTypeColumnName, TextDataViewType.Instance, "text");
        var label = Require(schema, labelColumnName, NumberDataViewType.Single, "Single (1 = anomalous)");
        var score = Require(schema, scoreColumnName, NumberDataViewType.Single, "Single");
        var flag = Optional(schema, predictedLabelColumnName, AnomalyColumns.PredictedLabel, BooleanDataViewType.Instance, vector: false);
        var segmentation = Optional(schema, segmentationMaskColumnName, AnomalyColumns.SegmentationMask, BooleanDataViewType.Instance, vector: true);
        var maskPath = Optional(schema, maskPathColumnName, AnomalyColumns.MaskPath, TextDataViewType.Instance, vector: false);
        bool withMasks = segmentation is not null && maskPath is not null;
        // The segmentation mask is a vector of unknown size in the schema (a CustomMapping output): sized at the first row.
        var grid = (Height: 0, Width: 0);
        GroundTruthReader? truth = null;

        var columns = new List<DataViewSchema.Column> { type, label, score };
        if (flag is { } f) columns.Add(f);
        if (withMasks) { columns.Add(segmentation!.Value); columns.Add(maskPath!.Value); }
        using var cursor = data.GetRowCursor(columns);
        var getType = cursor.GetGetter<ReadOnlyMemory<char>>(type);
        var getLabel = cursor.GetGetter<float>(label);
        var getScore = cursor.GetGetter<float>(score);
        var getFlag = flag is { } fc ? cursor.GetGetter<bool>(fc) : null;
        var getMask = withMasks ? cursor.GetGetter<VBuffer<bool>>(segmentation!.Value) : null;
        var getPath = withMasks ? cursor.GetGetter<ReadOnlyMemory<char>>(maskPath!.Value) : null;
        ReadOnlyMemory<char> typeText = default, path = default;
        float isAnomalous = 0, value = 0;
        bool flagged = false;
        VBuffer<bool> maskValues = default;
        bool[] predicted = [];
        float[] gt = [];
        var breakdown = new DefectTypeBreakdown();
        while (cursor.MoveNext())
        {
            getType(ref typeText);
            getLabel(ref isAnomalous);
            getScore(ref value);
            getFlag?.Invoke(ref flagged);
            bool? flaggedOrNull = getFlag is null ? null : flagged;
            if (!withMasks)
            {
                breakdown.Add(typeText.ToString(), isAnomalous != 0, value, flaggedOrNull);
                continue;
            }
            getMask!(ref maskValues);
            getPath!(ref path);
            if (truth is null)
            {
                var input = GroundTruthReader.InputSize(schema, inputWidth, inputHeight);
                grid = GroundTruthReader.MapGridOf(maskValues.Length, segmentation!.Value.Type as VectorDataViewType, input, segmentationMaskColumnName);
                truth = GroundTruthReader.For(schema, grid, inputWidth, inputHeight);
                predicted = new bool[grid.Height * grid.Width];
                gt = new float[grid.Height * grid.Width];
            }
            DenseMask(maskValues, predicted, segmentationMaskColumnName, breakdown.Count);
            truth!.Read(path.ToString(), grid, gt);
            breakdown.Add(typeText.ToString(), isAnomalous != 0, value, flaggedOrNull, predicted, gt);
        }
        return breakdown.Compute();
    }

    private static DataViewSchema.Column Require(DataViewSchema schema, string name, DataViewType type, string expected)
    {
        var column = schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(name), $"Could not find input column '{name}' ({expected}).");
        if (!column.Type.Equals(type))
            throw new ArgumentOutOfRangeException(nameof(name), $"Schema mismatch for input column '{name}': expected {expected}, got {column.Type}.");
        return column;
    }

    private static DataViewSchema.Column RequireVector(DataViewSchema schema, string name, DataViewType itemType)
    {
        var column = schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(name), $"Could not find input column '{name}' (a vector of {itemType}).");
        if (column.Type is not VectorDataViewType vector || !vector.ItemType.Equals(itemType))
            throw new ArgumentOutOfRangeException(nameof(name), $"Schema mismatch for input column '{name}': expected a vector of {itemType}, got {column.Type}.");
        return column;
    }

    // A column absent under its default name turns its metrics off; a name the caller chose must exist.
    private static DataViewSchema.Column? Optional(DataViewSchema schema, string name, string defaultName, DataViewType itemType, bool vector)
    {
        if (schema.GetColumnOrNull(name) is null && name == defaultName) return null;
        return vector ? RequireVector(schema, name, itemType) : Require(schema, name, itemType, itemType.ToString() ?? "?");
    }

    private static int KnownSize(DataViewSchema.Column column, string name)
    {
        int size = column.Type is VectorDataViewType { Size: > 0 } v ? v.Size : 0;
        if (size == 0)
            throw new ArgumentOutOfRangeException(nameof(name), $"Schema mismatch for input column '{name}': expected a map of known size, got {column.Type}.");
        return size;
    }

    private static float[] Dense(VBuffer<float> values, int length, string column, int row)
    {
        if (values.Length != length) throw new ArgumentException($"Row {row}: '{column}' has {values.Length} values, expected {length}.");
        return values.DenseValues().ToArray();
    }

    private static bool DenseMask(VBuffer<bool> values, bool[] destination, string column, int row)
    {
        if (values.Length != destination.Length) throw new ArgumentException($"Row {row}: '{column}' has {values.Length} values, expected {destination.Length}.");
        bool any = false;
        int i = 0;
        foreach (bool v in values.DenseValues())
        {
            destination[i++] = v;
            any |= v;
        }
        return any;
    }
}
