using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Microsoft.ML.UFlow.Training;

/// <summary>CS-Flow's scores from the latents of a <see cref="CsFlowModule"/> (METHOD.md C.4; v1's <c>CsFlowScoring</c>).</summary>
internal static class CsFlowTorchScoring
{
    /// <summary>
    /// Image score per sample (N) = mean over all D latent values of the three scales of z²/2 (the log-det is not
    /// included). Higher = more anomalous.
    /// </summary>
    public static Tensor ImageScores(IReadOnlyList<Tensor> latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        using Scalar scale = 0.5 / CsFlowNll.Dimensions(latents); // held to the end (see HeldScalars)
        return CsFlowNll.SumOfSquares(latents).mul(scale);
    }

    /// <summary>
    /// Localisation map of the official code: per position, the mean over channels of z² of the finest scale
    /// (<paramref name="finestLatent"/>, N×C×H×W), bilinearly resized (align_corners = False) to
    /// <paramref name="outHeight"/>×<paramref name="outWidth"/>. Returns N×1×outHeight×outWidth.
    /// </summary>
    public static Tensor LocalizationMap(Tensor finestLatent, int outHeight, int outWidth)
    {
        ArgumentNullException.ThrowIfNull(finestLatent);
        if (finestLatent.dim() != 4) throw new ArgumentException($"An N×C×H×W latent was expected, got shape [{string.Join(", ", finestLatent.shape)}].", nameof(finestLatent));
        if (outHeight <= 0 || outWidth <= 0) throw new ArgumentOutOfRangeException(nameof(outHeight), $"The map size must be positive (got {outHeight}x{outWidth}).");
        Tensor small = finestLatent.square().mean([1], keepdim: true);
        return F.interpolate(small, size: [outHeight, outWidth], mode: InterpolationMode.Bilinear, align_corners: false);
    }
}
