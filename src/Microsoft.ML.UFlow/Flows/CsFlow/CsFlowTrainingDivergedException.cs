namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>
/// Thrown when the loss or the gradient norm of a training step is not finite. The step is not applied, so
/// <see cref="LastGoodModel"/> holds the weights after the last finite step.
/// </summary>
public sealed class CsFlowTrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CsFlowTrainingDivergedException(int epoch, int batch, double loss, double gradientNorm, CsFlowModel lastGoodModel)
        : base($"CS-Flow training diverged in epoch {epoch}, batch {batch}: loss = {loss}, gradient norm = {gradientNorm}. " +
               "The step was not applied; LastGoodModel holds the weights after the last finite step. Try a lower learning rate or check the features for NaN/Inf.")
    {
        Epoch = epoch;
        Batch = batch;
        Loss = loss;
        GradientNorm = gradientNorm;
        LastGoodModel = lastGoodModel;
    }

    /// <summary>1-based epoch of the failing step.</summary>
    public int Epoch { get; }

    /// <summary>0-based batch index within the epoch.</summary>
    public int Batch { get; }

    /// <summary>The loss of the failing step.</summary>
    public double Loss { get; }

    /// <summary>The gradient norm of the failing step.</summary>
    public double GradientNorm { get; }

    /// <summary>The model with the weights after the last finite step.</summary>
    public CsFlowModel LastGoodModel { get; }
}
