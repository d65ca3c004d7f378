namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Thrown when CS-Flow training on TorchSharp meets a batch whose features are not finite, or a step whose loss or
/// gradient norm is not finite. Training stops before that step's update and produces no model.
/// </summary>
public sealed class CsFlowDivergenceException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="epoch">1-based epoch of the failing step.</param>
    /// <param name="step">0-based step (batch) within the epoch.</param>
    /// <param name="reason">What was not finite, as a sentence fragment ("the loss is NaN").</param>
    /// <param name="remedy">What to do about it.</param>
    public CsFlowDivergenceException(int epoch, int step, string reason, string remedy)
        : base($"CS-Flow training stopped in epoch {epoch}, step {step}: {reason}. No model was produced. {remedy}")
    {
        Epoch = epoch;
        Step = step;
    }

    /// <summary>1-based epoch of the failing step.</summary>
    public int Epoch { get; }

    /// <summary>0-based step (batch) within the epoch.</summary>
    public int Step { get; }
}
