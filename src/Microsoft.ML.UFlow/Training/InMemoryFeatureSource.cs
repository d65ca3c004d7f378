using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Training;

/// <summary>An <see cref="IFeatureBatchSource"/> over per-scale tensors that hold every sample (N×C×H×W each).</summary>
internal sealed class InMemoryFeatureSource : IFeatureBatchSource
{
    private readonly Tensor[] _scales;

    /// <summary>Wraps the tensors (not copied); every scale must have the same batch size.</summary>
    public InMemoryFeatureSource(IReadOnlyList<Tensor> scales)
    {
        ArgumentNullException.ThrowIfNull(scales);
        if (scales.Count == 0) throw new ArgumentException("At least one scale is needed.", nameof(scales));
        _scales = scales.ToArray();
        for (int l = 0; l < _scales.Length; l++)
        {
            _scales[l].CheckRank4($"scales[{l}]");
            if (_scales[l].N != _scales[0].N) throw new ArgumentException($"Scale {l} has {_scales[l].N} samples but scale 0 has {_scales[0].N}.", nameof(scales));
        }
    }

    /// <inheritdoc/>
    public int Count => _scales[0].N;

    /// <inheritdoc/>
    public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination)
    {
        if (destination.Count != _scales.Length) throw new ArgumentException($"Expected {_scales.Length} destination tensors; got {destination.Count}.", nameof(destination));
        for (int l = 0; l < _scales.Length; l++)
        {
            Tensor source = _scales[l];
            Tensor target = destination[l].EnsureShape(sampleIndices.Length, source.C, source.H, source.W);
            for (int i = 0; i < sampleIndices.Length; i++)
            {
                int index = sampleIndices[i];
                if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(sampleIndices), index, $"Sample index outside 0..{Count - 1}.");
                source.Sample(index).CopyTo(target.Sample(i));
            }
        }
    }
}
