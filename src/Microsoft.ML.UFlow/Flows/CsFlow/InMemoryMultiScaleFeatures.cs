using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>Three-scale features held in memory, one float array per sample and scale.</summary>
public sealed class InMemoryMultiScaleFeatures : IMultiScaleFeatureSource
{
    private readonly List<float[][]> _samples = [];
    private readonly (int Height, int Width)[] _sizes = new (int, int)[3];

    /// <summary>Creates an empty set for features of <paramref name="channels"/> channels and scale-0 size <paramref name="height"/>×<paramref name="width"/>.</summary>
    public InMemoryMultiScaleFeatures(int channels, int height, int width)
    {
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be positive.");
        if (height <= 0 || width <= 0 || height % 4 != 0 || width % 4 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(height), $"The scale-0 size must be positive and divisible by 4 (got {height}x{width}).");
        }
        Channels = channels;
        for (int s = 0; s < 3; s++) _sizes[s] = (height >> s, width >> s);
    }

    /// <inheritdoc/>
    public int Count => _samples.Count;

    /// <inheritdoc/>
    public int Channels { get; }

    /// <inheritdoc/>
    public (int Height, int Width) Size(int scale) => _sizes[scale];

    /// <summary>Adds every sample of a batch given as three NCHW tensors (copied).</summary>
    /// <exception cref="ArgumentException">The shapes do not match this set's channels and sizes.</exception>
    public void AddBatch(IReadOnlyList<Tensor> scales)
    {
        ArgumentNullException.ThrowIfNull(scales);
        if (scales.Count != 3) throw new ArgumentException($"Three scales are expected, got {scales.Count}.", nameof(scales));
        int n = scales[0].N;
        for (int s = 0; s < 3; s++)
        {
            scales[s].CheckShape($"{nameof(scales)}[{s}]", n, Channels, _sizes[s].Height, _sizes[s].Width);
        }
        for (int b = 0; b < n; b++)
        {
            _samples.Add([scales[0].Sample(b).ToArray(), scales[1].Sample(b).ToArray(), scales[2].Sample(b).ToArray()]);
        }
    }

    /// <inheritdoc/>
    public void CopySample(int index, int scale, Span<float> destination) => _samples[index][scale].CopyTo(destination);
}
