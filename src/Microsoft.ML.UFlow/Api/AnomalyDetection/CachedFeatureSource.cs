using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>The flow trainers' batch source over the feature cache.</summary>
internal sealed class CachedFeatureSource(FeatureCache cache) : IFeatureBatchSource
{
    public int Count => cache.Count;

    public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination)
    {
        cache.ReadBatch(sampleIndices, destination);
    }
}
