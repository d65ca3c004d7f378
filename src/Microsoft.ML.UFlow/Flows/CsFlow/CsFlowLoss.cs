using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>
/// CS-Flow's training loss (METHOD.md C.3), normalised per dimension:
/// loss = mean_b [ 0.5 · Σ_{scales, c, h, w} z² − logDet_b ] / D, with D = Σ_s C·H_s·W_s.
/// </summary>
public static class CsFlowLoss
{
    /// <summary>
    /// Computes the loss (accumulated in double) and, when the gradient destinations are given, ∂loss/∂z
    /// (= z / (N·D), same shapes as <paramref name="latents"/>) and ∂loss/∂logDet (= −1 / (N·D) per sample).
    /// </summary>
    public static double Compute(IReadOnlyList<Tensor> latents, ReadOnlySpan<double> logDet, IReadOnlyList<Tensor>? gradLatents = null, Span<double> gradLogDet = default)
    {
        ArgumentNullException.ThrowIfNull(latents);
        int batch = latents[0].N;
        if (logDet.Length != batch) throw new ArgumentException($"logDet has {logDet.Length} entries but the batch is {batch}.", nameof(logDet));
        long d = Dimensions(latents);
        double scale = 1.0 / ((double)batch * d);
        double sumSquares = 0;
        for (int s = 0; s < latents.Count; s++)
        {
            ReadOnlySpan<float> z = latents[s].Span;
            for (int i = 0; i < z.Length; i++) sumSquares += (double)z[i] * z[i];
            if (gradLatents is not null)
            {
                Tensor g = gradLatents[s].EnsureShape(latents[s].Shape.ToArray());
                TensorPrimitives.Multiply(z, (float)scale, g.Span);
            }
        }
        double sumLogDet = 0;
        foreach (double v in logDet) sumLogDet += v;
        if (!gradLogDet.IsEmpty)
        {
            if (gradLogDet.Length != batch) throw new ArgumentException($"gradLogDet has {gradLogDet.Length} entries but the batch is {batch}.", nameof(gradLogDet));
            gradLogDet.Fill(-scale);
        }
        return (0.5 * sumSquares - sumLogDet) * scale;
    }

    /// <summary>D, the number of latent values per sample over all scales.</summary>
    public static long Dimensions(IReadOnlyList<Tensor> latents)
    {
        long d = 0;
        foreach (Tensor t in latents) d += (long)t.C * t.H * t.W;
        return d;
    }
}
