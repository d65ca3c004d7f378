namespace Microsoft.ML.UFlow.Training;

/// <summary>What <see cref="UFlowTorchTrainer"/> reports after each epoch.</summary>
internal sealed class UFlowEpochReport
{
    /// <summary>0-based epoch.</summary>
    public int Epoch { get; init; }

    /// <summary>Mean training loss of the epoch (per-batch losses weighted by batch size).</summary>
    public double Loss { get; init; }

    /// <summary>The learning rate used during the epoch.</summary>
    public double LearningRate { get; init; }

    /// <summary>The validation metric of this epoch, if computed.</summary>
    public double? Metric { get; init; }

    /// <summary>The best metric so far, if any.</summary>
    public double? BestMetric { get; init; }

    /// <summary>The epoch of <see cref="BestMetric"/> (−1 when none).</summary>
    public int BestEpoch { get; init; }

    /// <summary>Wall time of the epoch (training and validation).</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Set by the callback to stop training after this epoch.</summary>
    public bool StopRequested { get; set; }
}
