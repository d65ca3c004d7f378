using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Scoring;

/// <summary>
/// The held-out latent calibration (<see cref="LatentCalibration.HeldOutScale"/>) as factors on the latents: scale l is
/// multiplied by 1/√s_l (s_l its held-out mean z²), so that the NFA statistic X_l = Σ_c z² becomes X_l / s_l.
/// </summary>
internal static class LatentCalibrationFactors
{
    /// <summary>The float factors 1/√s_l, the ones the saved model's graph multiplies by.</summary>
    /// <exception cref="ArgumentException">A mean z² is not positive and finite (the message names the scale).</exception>
    public static float[] FromMeanSquare(IReadOnlyList<double> meanSquarePerScale)
    {
        ArgumentNullException.ThrowIfNull(meanSquarePerScale);
        var factors = new float[meanSquarePerScale.Count];
        for (int l = 0; l < factors.Length; l++)
        {
            double s = meanSquarePerScale[l];
            if (!(s > 0) || !double.IsFinite(s))
                throw new ArgumentException($"The held-out mean z² of scale {l + 1} is {s}, so the latents cannot be calibrated (a degenerate or diverged flow?).", nameof(meanSquarePerScale));
            factors[l] = (float)(1.0 / Math.Sqrt(s));
        }
        return factors;
    }

    /// <summary>Multiplies each scale of <paramref name="latents"/> (NCHW, finest first) by its factor, in place.</summary>
    public static void Apply(IReadOnlyList<Tensor> latents, IReadOnlyList<float> factors)
    {
        ArgumentNullException.ThrowIfNull(latents);
        ArgumentNullException.ThrowIfNull(factors);
        if (latents.Count != factors.Count) throw new ArgumentException($"{latents.Count} latent scales but {factors.Count} factors.", nameof(factors));
        for (int l = 0; l < latents.Count; l++) TensorPrimitives.Multiply(latents[l].Span, factors[l], latents[l].Span);
    }
}
