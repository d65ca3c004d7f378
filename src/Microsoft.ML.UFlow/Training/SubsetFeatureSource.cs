using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Training;

/// <summary>The samples of another <see cref="IFeatureBatchSource"/> at given indices, as samples 0 … count − 1 (e.g. the training or held-out images).</summary>
internal sealed class SubsetFeatureSource : IFeatureBatchSource
{
    private readonly IFeatureBatchSource _inner;
    private readonly int[] _indices;

    /// <summary>Serves <paramref name="indices"/> of <paramref name="inner"/> (not copied).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the inner source.</exception>
    public SubsetFeatureSource(IFeatureBatchSource inner, int[] indices)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(indices);
        foreach (int i in indices)
        {
            if ((uint)i >= (uint)inner.Count) throw new ArgumentOutOfRangeException(nameof(indices), i, $"Sample index outside 0..{inner.Count - 1}.");
        }
        _inner = inner;
        _indices = indices;
    }

    /// <inheritdoc/>
    public int Count => _indices.Length;

    /// <inheritdoc/>
    public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination)
    {
        var mapped = new int[sampleIndices.Length];
        for (int i = 0; i < mapped.Length; i++) mapped[i] = _indices[sampleIndices[i]];
        _inner.ReadBatch(mapped, destination);
    }
}
