namespace Microsoft.ML.UFlow.Metrics;

/// <summary>Binarisation of ground-truth masks as in METHOD.md Part B: a pixel is anomalous where the mask is &gt; 0.5.</summary>
public static class GroundTruth
{
    /// <summary>The binarisation threshold applied to masks with values in [0, 1].</summary>
    public const float Threshold = 0.5f;

    /// <summary>True where the mask value marks an anomalous pixel (value &gt; 0.5).</summary>
    public static bool IsAnomalous(float maskValue) => maskValue > Threshold;

    /// <summary>Writes mask &gt; 0.5 into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Binarize(ReadOnlySpan<float> mask, Span<bool> destination)
    {
        if (mask.Length != destination.Length) throw new ArgumentException($"Destination length {destination.Length} differs from the mask length {mask.Length}.", nameof(destination));
        for (int i = 0; i < mask.Length; i++) destination[i] = mask[i] > Threshold;
    }

    /// <summary>Number of anomalous pixels (mask &gt; 0.5).</summary>
    public static int CountAnomalous(ReadOnlySpan<float> mask)
    {
        int n = 0;
        for (int i = 0; i < mask.Length; i++) if (mask[i] > Threshold) n++;
        return n;
    }

    internal static void CheckSameLength(int scores, int mask, string paramName)
    {
        if (scores != mask) throw new ArgumentException($"Ground-truth mask has {mask} values but the score map has {scores}.", paramName);
    }

    internal static void CheckShape(int length, int height, int width, string paramName)
    {
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(paramName, $"Map size {height}x{width} must be positive.");
        if ((long)height * width != length) throw new ArgumentException($"Map has {length} values, expected {height}x{width} = {(long)height * width}.", paramName);
    }
}
