using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Benchmarks.Featurization;

/// <summary>
/// Turns a batch of normalised images (NCHW float32) into one feature map per scale, finest first.
/// Implementations reuse their output tensors: the maps returned by <see cref="Extract"/> are overwritten by the next call,
/// so an instance must not be used from several threads at once.
/// </summary>
internal interface IFeaturizer : IDisposable
{
    /// <summary>The names of the maps, in output order.</summary>
    IReadOnlyList<string> OutputNames { get; }

    /// <summary>The channel count, size and stride of every map for an input of the given size (probing the model once per size).</summary>
    IReadOnlyList<FeatureMapInfo> Describe(int height, int width);

    /// <summary>Featurises <paramref name="batch"/> ([N, 3, H, W]); returns one [N, C, h, w] map per output, owned by the featurizer.</summary>
    IReadOnlyList<Tensor> Extract(Tensor batch);
}
