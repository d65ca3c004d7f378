using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>
/// Featurises every training row once into a <see cref="FeatureCache"/>, the first step of both flow trainers: the
/// epochs then read the cache instead of running the backbone again.
/// </summary>
internal static class TrainingFeatures
{
    /// <summary>
    /// Reads <paramref name="column"/> of every row of <paramref name="input"/> into a new cache (in memory up to
    /// <paramref name="budgetBytes"/>, then spilled to a temporary file). <paramref name="checkRow"/> receives the maps
    /// of a row, those of row 0 (null for row 0 itself) and the row index, and throws for a row the trainer cannot use.
    /// The caller owns (disposes) the returned cache; on any error it is disposed here.
    /// </summary>
    public static (FeatureCache Cache, Tensor[] FirstRow) Collect(
        IDataView input, string column, long budgetBytes, string trainerName,
        Action<Tensor[], Tensor[]?, int> checkRow, IProgress<TrainingProgress>? progress)
    {
        int total = (int)(input.GetRowCount() ?? -1);
        var cache = new FeatureCache(budgetBytes);
        try
        {
            Tensor[]? first = null;
            foreach (var row in input.GetRows())
            {
                var maps = row.Get<Tensor[]>(column);
                checkRow(maps, first, cache.Count);
                first ??= maps;
                cache.Add(maps.Select(m => m.Reshape(1, m.Shape[0], m.Shape[1], m.Shape[2])).ToArray());
                progress?.Report(new TrainingProgress("featurize", cache.Count, total));
            }
            if (first is null) throw new ArgumentException($"{trainerName}: the training data has no rows.", nameof(input));
            return (cache, first);
        }
        catch
        {
            cache.Dispose();
            throw;
        }
    }
}
