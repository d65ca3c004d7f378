using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>
/// METHOD.md A.6: per scale p_l = exp(−½·mean_c z²), bilinearly upsampled (align_corners = False) to S×S;
/// A = 1 − mean_l P_l; image score = max A.
/// </summary>
internal static class LikelihoodAnomalyMap
{
    /// <summary>Writes the S×S map of one image from its [C,H,W] latents into <paramref name="destination"/> and returns the score.</summary>
    public static float Compute(IReadOnlyList<Tensor> latents, int size, Span<float> destination)
    {
        destination.Clear();
        var upsampled = new float[size * size];
        foreach (var z in latents)
        {
            int c = z.Shape[0], h = z.Shape[1], w = z.Shape[2], plane = h * w;
            var p = new float[plane];
            ReadOnlySpan<float> values = z.Span;
            for (int ch = 0; ch < c; ch++)
            {
                var zc = values.Slice(ch * plane, plane);
                for (int i = 0; i < plane; i++) p[i] += zc[i] * zc[i];
            }
            float scale = -0.5f / c;
            for (int i = 0; i < plane; i++) p[i] = MathF.Exp(p[i] * scale);
            BilinearResize.Forward(p, h, w, upsampled, size, size);
            TensorPrimitives.Add(destination, upsampled, destination);
        }
        float inv = 1f / latents.Count;
        for (int i = 0; i < destination.Length; i++) destination[i] = 1f - destination[i] * inv;
        return TensorPrimitives.Max(destination);
    }
}
