namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Where early stopping stands after the completed epochs: the best validation metric so far (null before any), its
/// epoch (−1 before any), and the validated epochs since it without improvement (compared with the patience).
/// </summary>
/// <param name="BestMetric">The best validation metric so far, or null.</param>
/// <param name="BestEpoch">The zero-based epoch of <paramref name="BestMetric"/>, or −1.</param>
/// <param name="EpochsSinceBest">Validated epochs since the best one that did not improve on it.</param>
internal sealed record UFlowEarlyStoppingState(double? BestMetric, int BestEpoch, int EpochsSinceBest)
{
    /// <summary>The state before the first epoch.</summary>
    public static UFlowEarlyStoppingState Initial { get; } = new(null, -1, 0);
}
