using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Reads a featurizer's concatenated feature column and its shapes column once (this is when the upstream image loading
/// and backbone run) into a <see cref="FeatureCache"/>, one [1, C, H, W] map per scale and row.
/// </summary>
internal static class TrainingFeatureReader
{
    public static (FeatureCache Cache, (int Channels, int Height, int Width)[] Scales) Read(
        IDataView input, string column, long budgetBytes, string trainer, IProgress<TrainingProgress>? progress)
    {
        string shapesColumn = column + AnomalyColumns.ShapesSuffix;
        var features = input.Schema.GetColumnOrNull(column) ?? throw SchemaErrors.Missing(column, "the features of ApplyOnnxFeaturizer");
        var shapes = input.Schema.GetColumnOrNull(shapesColumn) ?? throw SchemaErrors.Missing(shapesColumn, "the feature shapes of ApplyOnnxFeaturizer");
        RequireFloatVector(features);
        RequireFloatVector(shapes);
        int total = (int)(input.GetRowCount() ?? -1);
        var cache = new FeatureCache(budgetBytes);
        try
        {
            (int Channels, int Height, int Width)[]? scales = null;
            using var cursor = input.GetRowCursor([features, shapes]);
            var getFeatures = cursor.GetGetter<VBuffer<float>>(features);
            var getShapes = cursor.GetGetter<VBuffer<float>>(shapes);
            VBuffer<float> values = default, shapeValues = default;
            Tensor[]? maps = null;
            while (cursor.MoveNext())
            {
                getShapes(ref shapeValues);
                var rowScales = LatentLayout.Shapes(shapeValues.DenseValues().ToArray(), column);
                if (scales is null)
                {
                    scales = rowScales;
                    maps = scales.Select(s => new Tensor(1, s.Channels, s.Height, s.Width)).ToArray();
                }
                else if (!rowScales.SequenceEqual(scales))
                {
                    throw new ArgumentException($"{trainer}: row {cache.Count} has feature maps {Describe(rowScales)}, but row 0 has {Describe(scales)}; " +
                        "all training images must give maps of one size (resize them to one input size).");
                }
                getFeatures(ref values);
                long expected = scales.Sum(s => (long)s.Channels * s.Height * s.Width);
                if (values.Length != expected)
                    throw new ArgumentException($"{trainer}: row {cache.Count} of '{column}' has {values.Length} values; its shapes {Describe(scales)} need {expected}.");
                var dense = values.DenseValues().GetEnumerator();
                foreach (Tensor map in maps!)
                {
                    Span<float> span = map.Span;
                    for (int i = 0; i < span.Length; i++)
                    {
                        dense.MoveNext();
                        span[i] = dense.Current;
                    }
                }
                cache.Add(maps);
                progress?.Report(new TrainingProgress("featurize", cache.Count, total));
            }
            if (scales is null) throw new ArgumentException($"{trainer}: the training data has no rows.", nameof(input));
            return (cache, scales);
        }
        catch
        {
            cache.Dispose();
            throw;
        }
    }

    private static void RequireFloatVector(DataViewSchema.Column column)
    {
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType n } || n != NumberDataViewType.Single)
            throw SchemaErrors.Mismatch(column.Name, "a vector of Single", column.Type.ToString() ?? "?");
    }

    private static string Describe((int Channels, int Height, int Width)[] scales) =>
        string.Join(" ", scales.Select(s => $"[{s.Channels}, {s.Height}, {s.Width}]"));
}
