using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>The flow trainer's batch source over the feature cache; reports the number of samples of each read.</summary>
internal sealed class CachedFeatureSource(FeatureCache cache, Action<int>? onRead = null) : IFeatureBatchSource
{
    public int Count => cache.Count;

    public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination)
    {
        cache.ReadBatch(sampleIndices, destination);
        onRead?.Invoke(sampleIndices.Length);
    }
}
