namespace Microsoft.ML.UFlow.Training;

/// <summary>The outcome of <see cref="UFlowTorchTrainer.Train"/>.</summary>
internal sealed class UFlowTrainingResult
{
    /// <summary>Every epoch's report, in order.</summary>
    public required IReadOnlyList<UFlowEpochReport> Epochs { get; init; }

    /// <summary>The best validation metric, or null when no metric was computed.</summary>
    public double? BestMetric { get; init; }

    /// <summary>The epoch of the best metric (−1 when none).</summary>
    public int BestEpoch { get; init; }

    /// <summary>Whether early stopping (or the callback) ended training before the last epoch.</summary>
    public bool StoppedEarly { get; init; }
}
