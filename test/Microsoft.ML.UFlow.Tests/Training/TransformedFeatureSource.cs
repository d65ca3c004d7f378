using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Training;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>Serves another source's features changed in place by <c>change(sample index, scale, values)</c>: the same shapes, other values.</summary>
internal sealed class TransformedFeatureSource(IFeatureBatchSource inner, Action<int, int, Span<float>> change) : IFeatureBatchSource
{
    public int Count => inner.Count;

    public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination)
    {
        inner.ReadBatch(sampleIndices, destination);
        for (int i = 0; i < sampleIndices.Length; i++)
        {
            for (int s = 0; s < destination.Count; s++) change(sampleIndices[i], s, destination[s].Sample(i));
        }
    }
}
