using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows;

/// <summary>
/// U-Flow's training loss in its official form (METHOD.md A.4):
/// loss = mean_b [ Σ_l 0.5·Σ_{c,h,w} z_l[b]² − logdet[b] ] (sum over every latent value, no 0.5·ln 2π, batch mean;
/// not anomalib's B-scaled variant).
/// </summary>
public static class UFlowLoss
{
    /// <summary>
    /// Returns the loss (the mean over this output's N samples) and, when the gradient buffers are given, writes
    /// ∂loss/∂z_l = z_l / M and ∂loss/∂logdet = −1/M, where M = <paramref name="gradientBatchSize"/> (default N). With M
    /// the size of a whole batch of which this output is one micro-batch, the micro-batches' gradients add up to the batch's.
    /// </summary>
    /// <param name="output">The flow's forward result.</param>
    /// <param name="gradLatents">Optional destinations, one per scale (reshaped as needed).</param>
    /// <param name="gradLogDet">Optional destination of length N.</param>
    /// <param name="gradientBatchSize">The divisor M of the gradients (0 = N; otherwise at least N).</param>
    public static double Compute(FlowOutput output, IReadOnlyList<Tensor>? gradLatents = null, Span<float> gradLogDet = default, int gradientBatchSize = 0)
    {
        IReadOnlyList<Tensor> latents = output.Latents;
        ReadOnlySpan<float> logDet = output.LogDet.Span;
        int n = logDet.Length;
        if (n == 0) throw new ArgumentException("The flow output has an empty batch.", nameof(output));
        if (gradientBatchSize != 0 && gradientBatchSize < n)
        {
            throw new ArgumentOutOfRangeException(nameof(gradientBatchSize), gradientBatchSize, $"The gradient batch size must be 0 or at least the output's batch ({n}).");
        }
        int m = gradientBatchSize == 0 ? n : gradientBatchSize;
        double total = 0;
        for (int l = 0; l < latents.Count; l++)
        {
            Tensor z = latents[l];
            if (z.N != n) throw new ArgumentException($"Latent {l} has batch {z.N} but the log-det has {n} entries.", nameof(output));
            for (int b = 0; b < n; b++) total += 0.5 * SumOfSquares(z.Sample(b));
            if (gradLatents is not null)
            {
                Tensor g = gradLatents[l].EnsureShape(z.N, z.C, z.H, z.W);
                TensorPrimitives.Multiply(z.Span, 1f / m, g.Span);
            }
        }
        for (int b = 0; b < n; b++) total -= logDet[b];
        if (!gradLogDet.IsEmpty)
        {
            if (gradLogDet.Length != n) throw new ArgumentException($"gradLogDet has {gradLogDet.Length} entries for a batch of {n}.", nameof(gradLogDet));
            gradLogDet.Fill(-1f / m);
        }
        return total / n;
    }

    /// <summary>Per-sample loss terms 0.5·‖z_b‖² − logdet_b (used by reports and tests).</summary>
    public static double[] PerSample(FlowOutput output)
    {
        int n = output.LogDet.Length;
        var result = new double[n];
        for (int b = 0; b < n; b++)
        {
            double sq = 0;
            foreach (Tensor z in output.Latents) sq += SumOfSquares(z.Sample(b));
            result[b] = 0.5 * sq - output.LogDet.Span[b];
        }
        return result;
    }

    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        // Chunked float dot products accumulated in double: SIMD speed, double-precision total.
        const int chunk = 4096;
        double sum = 0;
        for (int i = 0; i < values.Length; i += chunk)
        {
            ReadOnlySpan<float> part = values.Slice(i, Math.Min(chunk, values.Length - i));
            sum += TensorPrimitives.Dot(part, part);
        }
        return sum;
    }
}
