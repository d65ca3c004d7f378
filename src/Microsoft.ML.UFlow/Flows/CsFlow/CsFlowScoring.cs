using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>CS-Flow's scores from the latents (METHOD.md C.4).</summary>
public static class CsFlowScoring
{
    /// <summary>
    /// Image score per sample = mean over all D latent values of the three scales of z²/2 (the log-det is not
    /// included). Higher = more anomalous. Accumulated in double.
    /// </summary>
    public static double[] ImageScores(IReadOnlyList<Tensor> latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        int batch = latents[0].N;
        long d = CsFlowLoss.Dimensions(latents);
        var scores = new double[batch];
        for (int n = 0; n < batch; n++)
        {
            double sum = 0;
            foreach (Tensor z in latents)
            {
                ReadOnlySpan<float> v = z.Sample(n);
                for (int i = 0; i < v.Length; i++) sum += (double)v[i] * v[i];
            }
            scores[n] = 0.5 * sum / d;
        }
        return scores;
    }

    /// <summary>
    /// Localisation map of the official code: per position, the mean over channels of z² of the finest scale
    /// (<paramref name="finestLatent"/>, N×C×H×W), bilinearly upsampled (align_corners = False) to
    /// <paramref name="outHeight"/>×<paramref name="outWidth"/>. Returns N×1×outHeight×outWidth.
    /// </summary>
    public static Tensor LocalizationMap(Tensor finestLatent, int outHeight, int outWidth)
    {
        ArgumentNullException.ThrowIfNull(finestLatent);
        finestLatent.CheckRank4(nameof(finestLatent));
        if (outHeight <= 0 || outWidth <= 0) throw new ArgumentOutOfRangeException(nameof(outHeight), $"The map size must be positive (got {outHeight}x{outWidth}).");
        int n = finestLatent.N, c = finestLatent.C, h = finestLatent.H, w = finestLatent.W;
        var small = new float[h * w];
        var map = new Tensor(n, 1, outHeight, outWidth);
        for (int b = 0; b < n; b++)
        {
            Array.Clear(small);
            for (int ch = 0; ch < c; ch++)
            {
                ReadOnlySpan<float> plane = finestLatent.Plane(b, ch);
                for (int i = 0; i < plane.Length; i++) small[i] += plane[i] * plane[i];
            }
            TensorPrimitives.Multiply(small, 1f / c, small);
            BilinearResize.Forward(small, h, w, map.Plane(b, 0), outHeight, outWidth);
        }
        return map;
    }
}
