using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>The flow trainer's batch source over the cached per-image [C,H,W] maps; reports each batch read as a training step.</summary>
internal sealed class CachedFeatureSource(IReadOnlyList<Tensor[]> samples, Action? onBatch = null) : IFeatureBatchSource
{
    public int Count => samples.Count;

    public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination)
    {
        var first = samples[0];
        for (int l = 0; l < first.Length; l++)
        {
            var shape = first[l].Shape;
            var batch = destination[l].EnsureShape(sampleIndices.Length, shape[0], shape[1], shape[2]);
            for (int i = 0; i < sampleIndices.Length; i++) samples[sampleIndices[i]][l].Span.CopyTo(batch.Sample(i));
        }
        onBatch?.Invoke();
    }
}
