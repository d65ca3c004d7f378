using Microsoft.ML.UFlow.Flows;

namespace Microsoft.ML.UFlow.Training;

/// <summary>Training settings of CS-Flow (<see cref="CsFlowTorchTrainer"/>); defaults are the official code's (METHOD.md C.3).</summary>
internal sealed class CsFlowTrainerOptions
{
    /// <summary>Epochs (default 60, the MTD setting; MVTec AD uses 240 = 4 × 60).</summary>
    public int Epochs { get; set; } = 60;

    /// <summary>Batch size (default 16). The last batch of an epoch may be smaller (no samples are dropped).</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>Adam learning rate (default 2e-4, constant).</summary>
    public double LearningRate { get; set; } = 2e-4;

    /// <summary>Adam ε (default 1e-4, as the official code).</summary>
    public double AdamEpsilon { get; set; } = 1e-4;

    /// <summary>Adam β1 (default 0.9: the code's PyTorch default; the paper states 0.5).</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>Adam β2 (default 0.999: the code's PyTorch default; the paper states 0.9).</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>L2 weight decay (default 1e-5).</summary>
    public double WeightDecay { get; set; } = 1e-5;

    /// <summary>Gradient-norm clipping threshold applied every step (default 1.0).</summary>
    public double GradientClipNorm { get; set; } = 1.0;

    /// <summary>Seed of the per-epoch shuffling (default 0).</summary>
    public ulong ShuffleSeed { get; set; }

    /// <summary>The flow's architecture; <see cref="CsFlowNetworkOptions.Channels"/> is taken from the data when 0.</summary>
    public CsFlowNetworkOptions Network { get; set; } = new();

    /// <summary>Optional callback after each optimiser step of <see cref="CsFlowTorchTrainer.Train"/> (one per batch).</summary>
    public Action? StepCompleted { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad setting.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"Epochs must be at least 1 (got {Epochs}).", nameof(Epochs));
        if (BatchSize < 1) throw new ArgumentException($"BatchSize must be at least 1 (got {BatchSize}).", nameof(BatchSize));
        if (!(LearningRate > 0)) throw new ArgumentException($"LearningRate must be positive (got {LearningRate}).", nameof(LearningRate));
        if (!(AdamEpsilon > 0)) throw new ArgumentException($"AdamEpsilon must be positive (got {AdamEpsilon}).", nameof(AdamEpsilon));
        if (Beta1 is < 0 or >= 1) throw new ArgumentException($"Beta1 must be in [0, 1) (got {Beta1}).", nameof(Beta1));
        if (Beta2 is < 0 or >= 1) throw new ArgumentException($"Beta2 must be in [0, 1) (got {Beta2}).", nameof(Beta2));
        if (WeightDecay < 0) throw new ArgumentException($"WeightDecay must not be negative (got {WeightDecay}).", nameof(WeightDecay));
        if (!(GradientClipNorm > 0)) throw new ArgumentException($"GradientClipNorm must be positive (got {GradientClipNorm}).", nameof(GradientClipNorm));
        ArgumentNullException.ThrowIfNull(Network, nameof(Network));
    }
}
