using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// U-Flow's training loss in its official form (METHOD.md A.4) on TorchSharp:
/// loss = mean_b [ Σ_l 0.5·Σ_{c,h,w} z_l[b]² − logdet[b] ] (a sum over every latent value, no 0.5·ln 2π, batch mean;
/// not anomalib's B-scaled variant).
/// </summary>
internal static class UFlowTorchLoss
{
    /// <summary>The scalar loss (differentiable) of one forward pass.</summary>
    public static Tensor Compute(IReadOnlyList<Tensor> latents, Tensor logDet)
    {
        using var scope = NewDisposeScope();
        return scope.MoveToOuter(PerSample(latents, logDet).mean());
    }

    /// <summary>Per-sample terms 0.5·Σ_l ‖z_l[b]‖² − logdet[b] (shape N).</summary>
    public static Tensor PerSample(IReadOnlyList<Tensor> latents, Tensor logDet)
    {
        ArgumentNullException.ThrowIfNull(latents);
        ArgumentNullException.ThrowIfNull(logDet);
        if (latents.Count == 0) throw new ArgumentException("At least one latent is needed.", nameof(latents));
        using var scope = NewDisposeScope();
        Tensor squares = latents[0].square().sum([1, 2, 3]);
        for (int l = 1; l < latents.Count; l++) squares = squares.Plus(latents[l].square().sum([1, 2, 3]));
        using Scalar half = 0.5; // held to the end (see HeldScalars)
        return scope.MoveToOuter(squares.mul(half).sub(logDet));
    }
}
