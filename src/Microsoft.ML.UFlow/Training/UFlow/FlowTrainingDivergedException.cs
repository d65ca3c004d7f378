namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Thrown when the loss or a weight becomes NaN or infinite during training. The flow has been reset to the last good
/// weights (those at the end of the previous epoch, or the initial ones).
/// </summary>
public sealed class FlowTrainingDivergedException : Exception
{
    /// <summary>Creates the exception for <paramref name="epoch"/>.</summary>
    public FlowTrainingDivergedException(int epoch, int batch, string what)
        : base($"U-Flow training diverged in epoch {epoch} (batch {batch}): {what}. The flow was reset to the last good weights (end of epoch {epoch - 1}); try a lower learning rate.")
    {
        Epoch = epoch;
        Batch = batch;
    }

    /// <summary>The 0-based epoch in which training diverged.</summary>
    public int Epoch { get; }

    /// <summary>The 0-based batch within that epoch.</summary>
    public int Batch { get; }
}
