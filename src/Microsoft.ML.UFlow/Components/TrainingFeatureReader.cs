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
    // validate (optional) sees the first row's shapes before the other rows are featurised: shapes the flow cannot take
    // fail at once.
    public static (FeatureCache Cache, (int Channels, int Height, int Width)[] Scales) Read(
        IDataView input, string column, long budgetBytes, string trainer, IProgress<TrainingProgress>? progress,
        Action<(int Channels, int Height, int Width)[]>? validate = null)
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
            while (MoveNext(cursor, input, trainer))
            {
                getShapes(ref shapeValues);
                var rowScales = LatentLayout.Shapes(shapeValues.DenseValues().ToArray(), column);
                if (scales is null)
                {
                    scales = rowScales;
                    validate?.Invoke(scales);
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
                // OnnxTransformer fills dense buffers; a sparse one (another producer) is densified first.
                ReadOnlySpan<float> flat = values.IsDense ? values.GetValues() : values.DenseValues().ToArray();
                int offset = 0;
                foreach (Tensor map in maps!)
                {
                    flat.Slice(offset, map.Length).CopyTo(map.Span);
                    offset += map.Length;
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

    // ML.NET's image loader reports a bad file without its name, wrapped by its parallel reader (whose row position is
    // not the failing row's): on that error path only, find the first image file that does not decode and name it.
    private static bool MoveNext(DataViewRowCursor cursor, IDataView input, string trainer)
    {
        try
        {
            return cursor.MoveNext();
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException)
        {
            Exception inner = e;
            while (inner.InnerException is not null) inner = inner.InnerException;
            string? bad = FirstUnreadableImage(input);
            throw new InvalidDataException(bad is null
                ? $"{trainer}: the training data could not be read: {inner.Message}"
                : $"{trainer}: the image '{bad}' could not be read: {inner.Message}", e);
        }
    }

    private static string? FirstUnreadableImage(IDataView input)
    {
        if (input.Schema.GetColumnOrNull(AnomalyColumns.ImagePath) is not { Type: TextDataViewType }) return null;
        foreach (string path in input.GetColumn<string>(AnomalyColumns.ImagePath))
        {
            try
            {
                using var image = MLImage.CreateFromFile(path);
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                return path;
            }
        }
        return null;
    }

    private static void RequireFloatVector(DataViewSchema.Column column)
    {
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType n } || n != NumberDataViewType.Single)
            throw SchemaErrors.Mismatch(column.Name, "a vector of Single", column.Type.ToString() ?? "?");
    }

    private static string Describe((int Channels, int Height, int Width)[] scales) =>
        string.Join(" ", scales.Select(s => $"[{s.Channels}, {s.Height}, {s.Width}]"));
}
