namespace Microsoft.ML.UFlow.Optim;

/// <summary>Settings of <see cref="Adam"/>; defaults are PyTorch's <c>torch.optim.Adam</c> defaults.</summary>
public sealed class AdamOptions
{
    /// <summary>Learning rate (default 1e-3).</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>Exponential decay of the first moment (default 0.9).</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>Exponential decay of the second moment (default 0.999).</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>Added to the denominator for stability (default 1e-8; CS-Flow uses 1e-4).</summary>
    public double Epsilon { get; set; } = 1e-8;

    /// <summary>Classic L2 weight decay added to the gradient before the moments (not AdamW; default 0).</summary>
    public double WeightDecay { get; set; }
}
