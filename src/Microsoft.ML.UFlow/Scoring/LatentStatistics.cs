using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Scoring;

/// <summary>
/// Per-pixel and per-scale statistics of flow latents: the chi-square statistic X = Σ_c z² used by the NFA
/// (METHOD.md A.7.1) and the calibration diagnostic mean(z²) per scale (A.7.8: the NFA threshold is only meaningful
/// when this is close to 1 on normal images; a few percent above 1 already produces false detections, below 1 the
/// official rule can flag the whole image).
/// </summary>
public static class LatentStatistics
{
    /// <summary>
    /// Writes X(p) = Σ_c z[c, p]² for one sample laid out C×H×W into <paramref name="destination"/> (H·W values).
    /// </summary>
    /// <exception cref="ArgumentException">The spans do not match the given sizes.</exception>
    public static void SumOfSquares(ReadOnlySpan<float> latent, int channels, int height, int width, Span<float> destination)
    {
        int plane = CheckSizes(latent.Length, channels, height, width);
        if (destination.Length != plane)
        {
            throw new ArgumentException($"The destination has {destination.Length} values but the scale has {height}x{width} = {plane} pixels.", nameof(destination));
        }
        TensorPrimitives.Multiply(latent[..plane], latent[..plane], destination);
        int c = 1;
        // Four channels per pass over X (X stays in registers for each vector); every pixel still accumulates
        // fma(z_c, z_c, x) in channel order, so all paths give bit-identical results.
        for (; c + 3 < channels; c += 4)
        {
            AccumulateFourChannels(latent.Slice(c * plane, 4 * plane), plane, destination);
        }
        for (; c < channels; c++)
        {
            ReadOnlySpan<float> z = latent.Slice(c * plane, plane);
            TensorPrimitives.FusedMultiplyAdd(z, z, destination, destination);
        }
    }

    private static void AccumulateFourChannels(ReadOnlySpan<float> fourPlanes, int plane, Span<float> x)
    {
        ref float z = ref MemoryMarshal.GetReference(fourPlanes);
        ref float acc = ref MemoryMarshal.GetReference(x);
        nuint o1 = (nuint)plane, o2 = 2 * o1, o3 = 3 * o1;
        int p = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; p <= plane - Vector512<float>.Count; p += Vector512<float>.Count)
            {
                nuint i = (nuint)p;
                Vector512<float> v0 = Vector512.LoadUnsafe(ref z, i), v1 = Vector512.LoadUnsafe(ref z, o1 + i);
                Vector512<float> v2 = Vector512.LoadUnsafe(ref z, o2 + i), v3 = Vector512.LoadUnsafe(ref z, o3 + i);
                Vector512<float> s = Vector512.LoadUnsafe(ref acc, i);
                s = Vector512.FusedMultiplyAdd(v0, v0, s);
                s = Vector512.FusedMultiplyAdd(v1, v1, s);
                s = Vector512.FusedMultiplyAdd(v2, v2, s);
                s = Vector512.FusedMultiplyAdd(v3, v3, s);
                s.StoreUnsafe(ref acc, i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; p <= plane - Vector256<float>.Count; p += Vector256<float>.Count)
            {
                nuint i = (nuint)p;
                Vector256<float> v0 = Vector256.LoadUnsafe(ref z, i), v1 = Vector256.LoadUnsafe(ref z, o1 + i);
                Vector256<float> v2 = Vector256.LoadUnsafe(ref z, o2 + i), v3 = Vector256.LoadUnsafe(ref z, o3 + i);
                Vector256<float> s = Vector256.LoadUnsafe(ref acc, i);
                s = Vector256.FusedMultiplyAdd(v0, v0, s);
                s = Vector256.FusedMultiplyAdd(v1, v1, s);
                s = Vector256.FusedMultiplyAdd(v2, v2, s);
                s = Vector256.FusedMultiplyAdd(v3, v3, s);
                s.StoreUnsafe(ref acc, i);
            }
        }
        for (; p < plane; p++)
        {
            float s = x[p];
            for (int k = 0; k < 4; k++)
            {
                float v = fourPlanes[k * plane + p];
                s = MathF.FusedMultiplyAdd(v, v, s);
            }
            x[p] = s;
        }
    }

    /// <summary>mean(z²) over all C·H·W values of one sample of one scale (≈ 1 for a calibrated flow on normal data).</summary>
    public static double MeanSquare(ReadOnlySpan<float> latent)
    {
        if (latent.IsEmpty)
        {
            throw new ArgumentException("The latent is empty.", nameof(latent));
        }
        const int Chunk = 4096; // float partial sums, double accumulation
        double sum = 0;
        for (int start = 0; start < latent.Length; start += Chunk)
        {
            sum += TensorPrimitives.SumOfSquares(latent.Slice(start, Math.Min(Chunk, latent.Length - start)));
        }
        return sum / latent.Length;
    }

    /// <summary>
    /// mean(z²) per scale over all samples of a batch of latents (one NCHW tensor per scale), for calibration checks
    /// on normal images before trusting the NFA threshold.
    /// </summary>
    public static double[] MeanSquarePerScale(IReadOnlyList<Tensor> latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        var result = new double[latents.Count];
        for (int l = 0; l < latents.Count; l++)
        {
            Tensor z = latents[l] ?? throw new ArgumentException($"Latent scale {l} is null.", nameof(latents));
            z.CheckRank4($"latents[{l}]");
            result[l] = MeanSquare(z.Span);
        }
        return result;
    }

    internal static int CheckSizes(int length, int channels, int height, int width)
    {
        if (channels <= 0 || height <= 0 || width <= 0)
        {
            throw new ArgumentException($"Latent sizes must be positive, got C={channels}, H={height}, W={width}.");
        }
        long expected = (long)channels * height * width;
        if (length != expected)
        {
            throw new ArgumentException($"The latent has {length} values but C×H×W = {channels}×{height}×{width} = {expected}.");
        }
        return height * width;
    }
}
