using Microsoft.ML.UFlow.Optim;

namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>
/// A CS-Flow training between epochs: the model, its optimiser (Adam's moments and step count), the epochs completed
/// (which fix the next shuffle), how many training samples they used and a summary of their features. Made by
/// <see cref="CsFlowTrainer.Start"/>, advanced by <see cref="CsFlowTrainer.Train"/>, saved and read by
/// <see cref="CsFlowTrainingCheckpoint"/>.
/// </summary>
public sealed class CsFlowTrainingState
{
    internal CsFlowTrainingState(CsFlowModel model, Adam optimizer)
    {
        Model = model;
        Optimizer = optimizer;
    }

    /// <summary>The model being trained.</summary>
    public CsFlowModel Model { get; }

    /// <summary>The optimiser over the model's parameters.</summary>
    public Adam Optimizer { get; }

    /// <summary>Epochs completed so far; the next <see cref="CsFlowTrainer.Train"/> continues with the one after.</summary>
    public int CompletedEpochs { get; internal set; }

    /// <summary>Training samples of the completed epochs (0 before the first); a continued run must use as many.</summary>
    public int SampleCount { get; internal set; }

    /// <summary>What the completed epochs' features looked like (null before the first epoch, or when read from a checkpoint of format 1).</summary>
    internal TrainingDataFingerprint? DataFingerprint { get; set; }
}
