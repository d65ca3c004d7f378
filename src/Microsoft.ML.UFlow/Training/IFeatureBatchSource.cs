using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Training data for the flow: cached feature tensors, one per scale, for any list of sample indices. The API layer
/// implements it over an ONNX featurizer and a feature cache; <see cref="InMemoryFeatureSource"/> serves tensors
/// already in memory.
/// </summary>
internal interface IFeatureBatchSource
{
    /// <summary>The number of samples.</summary>
    int Count { get; }

    /// <summary>
    /// Writes the features of <paramref name="sampleIndices"/> (in that order) into <paramref name="destination"/>,
    /// one tensor per scale, finest first; the source gives each destination its shape with <see cref="Tensor.EnsureShape"/>
    /// (batch = number of indices) so buffers are reused across batches.
    /// </summary>
    void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination);
}
