namespace Microsoft.ML.UFlow.Benchmarks.Knn;

/// <summary>
/// Separable Gaussian smoothing of one H×W map, as PatchCore smooths its anomaly maps: the kernel is cut at 4σ (radius
/// ⌊4σ + 0.5⌋) and normalised to sum 1, and the map is mirrored at its borders including the edge pixel (… c b a | a b c …).
/// </summary>
internal static class GaussianSmoothing
{
    /// <summary>Smooths <paramref name="map"/> in place; σ = 0 leaves it as it is.</summary>
    /// <exception cref="ArgumentException">The sizes disagree or σ is negative.</exception>
    public static void Apply(Span<float> map, int height, int width, double sigma)
    {
        if ((long)height * width != map.Length) throw new ArgumentException($"{map.Length} values are not a {height}×{width} map.", nameof(map));
        if (!(sigma >= 0)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "The smoothing σ must not be negative.");
        if (sigma == 0) return;
        float[] kernel = Kernel(sigma);
        var line = new float[Math.Max(height, width)];
        // Rows, then columns.
        for (int y = 0; y < height; y++) Convolve(map.Slice(y * width, width), 1, width, kernel, line);
        for (int x = 0; x < width; x++) Convolve(map[x..], width, height, kernel, line);
    }

    /// <summary>The normalised kernel of radius ⌊4σ + 0.5⌋.</summary>
    public static float[] Kernel(double sigma)
    {
        int radius = (int)(4 * sigma + 0.5);
        var weights = new double[2 * radius + 1];
        for (int i = -radius; i <= radius; i++) weights[i + radius] = Math.Exp(-0.5 * i * i / (sigma * sigma));
        double sum = weights.Sum();
        return weights.Select(w => (float)(w / sum)).ToArray();
    }

    // Convolves the n values at data[0], data[stride], ... with the kernel (mirrored borders), using line as scratch.
    private static void Convolve(Span<float> data, int stride, int n, float[] kernel, float[] line)
    {
        int radius = kernel.Length / 2;
        for (int i = 0; i < n; i++) line[i] = data[i * stride];
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int k = -radius; k <= radius; k++) sum += kernel[k + radius] * line[Mirror(i + k, n)];
            data[i * stride] = (float)sum;
        }
    }

    private static int Mirror(int i, int n)
    {
        while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
        return i;
    }
}
