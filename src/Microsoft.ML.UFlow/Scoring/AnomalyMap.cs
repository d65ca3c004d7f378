using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Scoring;

/// <summary>
/// U-Flow's likelihood anomaly map and image score (METHOD.md A.6): per scale p_l = exp(−0.5·mean_c z_l²), bilinearly
/// upsampled (align_corners = false) to the output size, A = 1 − mean_l P_l, image score = max A.
/// </summary>
public static class AnomalyMap
{
    /// <summary>The official evaluation size (256×256).</summary>
    public const int DefaultOutputSize = 256;

    /// <summary>
    /// Computes the anomaly maps of a batch into <paramref name="destination"/> (shaped N×1×height×width; allocated when
    /// null) and returns it.
    /// </summary>
    /// <param name="latents">z_l for every scale (finest first or any order), each N×C_l×H_l×W_l.</param>
    /// <param name="outputHeight">Map height (default 256).</param>
    /// <param name="outputWidth">Map width (default: the height).</param>
    /// <param name="destination">Optional reusable output tensor.</param>
    public static Tensor Compute(IReadOnlyList<Tensor> latents, int outputHeight = DefaultOutputSize, int outputWidth = 0, Tensor? destination = null)
    {
        ArgumentNullException.ThrowIfNull(latents);
        if (latents.Count == 0) throw new ArgumentException("At least one latent is needed.", nameof(latents));
        if (outputWidth == 0) outputWidth = outputHeight;
        if (outputHeight < 1 || outputWidth < 1) throw new ArgumentOutOfRangeException(nameof(outputHeight), $"The output size must be positive; got {outputHeight}x{outputWidth}.");
        int n = latents[0].N;
        for (int l = 0; l < latents.Count; l++)
        {
            latents[l].CheckRank4($"latents[{l}]");
            if (latents[l].N != n) throw new ArgumentException($"latents[{l}] has batch {latents[l].N} but latents[0] has {n}.", nameof(latents));
        }
        Tensor map = (destination ?? new Tensor(1)).EnsureShape(n, 1, outputHeight, outputWidth);
        int size = outputHeight * outputWidth;
        float invScales = 1f / latents.Count;
        int maxPlane = latents.Max(z => z.H * z.W);
        // Samples are independent and each is computed by one thread in a fixed order, so the result does not depend on
        // the number of threads; every thread keeps its own scratch.
        Parallel.For(0, n, () => (Resized: new float[size], Probability: new float[maxPlane]), (b, _, scratch) =>
        {
            Span<float> a = map.Sample(b);
            a.Clear();
            foreach (Tensor z in latents)
            {
                Span<float> p = scratch.Probability.AsSpan(0, z.H * z.W);
                ProbabilityPlane(z, b, p);
                BilinearResize.Forward(p, z.H, z.W, scratch.Resized, outputHeight, outputWidth);
                TensorPrimitives.Add(a, scratch.Resized, a);
            }
            TensorPrimitives.Multiply(a, -invScales, a);
            TensorPrimitives.Add(a, 1f, a);
            return scratch;
        }, _ => { });
        return map;
    }

    /// <summary>p(i, j) = exp(−0.5·(1/C)·Σ_c z[b, c, i, j]²) of sample <paramref name="sample"/>, into <paramref name="destination"/> (H·W).</summary>
    public static void ProbabilityPlane(Tensor latent, int sample, Span<float> destination)
    {
        int hw = latent.H * latent.W;
        if (destination.Length != hw) throw new ArgumentException($"Destination has {destination.Length} values but the latent plane has {hw}.", nameof(destination));
        destination.Clear();
        for (int c = 0; c < latent.C; c++)
        {
            ReadOnlySpan<float> zc = latent.Plane(sample, c);
            TensorPrimitives.MultiplyAdd(zc, zc, destination, destination);
        }
        TensorPrimitives.Multiply(destination, -0.5f / latent.C, destination);
        TensorPrimitives.Exp(destination, destination);
    }

    /// <summary>The image score of each sample: the maximum of its anomaly map.</summary>
    public static float[] ImageScores(Tensor map)
    {
        map.CheckRank4(nameof(map));
        var scores = new float[map.N];
        for (int b = 0; b < map.N; b++) scores[b] = TensorPrimitives.Max(map.Sample(b));
        return scores;
    }
}
