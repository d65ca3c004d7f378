namespace Microsoft.ML.UFlow.Scoring;

/// <summary>The latent of one image at one scale: C×H×W float values (channel-major, row-major planes).</summary>
public readonly struct NfaLatentScale
{
    /// <summary>Wraps <paramref name="values"/> (not copied) after checking that it holds C·H·W values.</summary>
    /// <exception cref="ArgumentException">The length does not match or a size is not positive.</exception>
    public NfaLatentScale(ReadOnlyMemory<float> values, int channels, int height, int width)
    {
        LatentStatistics.CheckSizes(values.Length, channels, height, width);
        Values = values;
        Channels = channels;
        Height = height;
        Width = width;
    }

    /// <summary>The values, C×H×W.</summary>
    public ReadOnlyMemory<float> Values { get; }

    /// <summary>C: the number of channels (the degrees of freedom of the chi-square statistic).</summary>
    public int Channels { get; }

    /// <summary>H: rows.</summary>
    public int Height { get; }

    /// <summary>W: columns.</summary>
    public int Width { get; }
}
