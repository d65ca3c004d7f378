using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// CS-Flow's training loss (METHOD.md C.3, <c>csflow:utils.py::get_loss</c>), normalised per dimension:
/// loss = mean_b [ 0.5 · Σ_{scales, c, h, w} z² − logDet_b ] / D, with D = Σ_s C·H_s·W_s.
/// </summary>
internal sealed class CsFlowNll : ParameterLessModule<Tensor[], Tensor, Tensor>
{
    /// <summary>Creates the loss.</summary>
    public CsFlowNll()
        : base(nameof(CsFlowNll))
    {
    }

    /// <summary>The loss (a scalar) from the latents (three N×C×H×W tensors) and log|det J| per sample (N).</summary>
    public override Tensor forward(Tensor[] latents, Tensor logDet)
    {
        ArgumentNullException.ThrowIfNull(latents);
        ArgumentNullException.ThrowIfNull(logDet);
        // Scalars held to the end (see HeldScalars).
        using Scalar half = 0.5, dimensions = Dimensions(latents);
        return torch.mean(SumOfSquares(latents).mul(half) - logDet).div(dimensions);
    }

    /// <summary>D, the number of latent values per sample over all scales.</summary>
    public static long Dimensions(IReadOnlyList<Tensor> latents)
    {
        long d = 0;
        foreach (Tensor t in latents) d += t.shape[1] * t.shape[2] * t.shape[3];
        return d;
    }

    /// <summary>Σ over scales, channels and positions of z², per sample (N), summed scale by scale as the official code.</summary>
    internal static Tensor SumOfSquares(IReadOnlyList<Tensor> latents)
    {
        if (latents.Count == 0) throw new ArgumentException("No latents.", nameof(latents));
        Tensor sum = latents[0].square().sum([1, 2, 3]);
        for (int s = 1; s < latents.Count; s++) sum = sum.Plus(latents[s].square().sum([1, 2, 3]));
        return sum;
    }
}
