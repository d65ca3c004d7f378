using TorchSharp;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// A TorchSharp CS-Flow training between epochs: the module, its Adam optimiser (moments and step counts), the epochs
/// completed (which fix the next shuffle), how many samples they used and a summary of their features. Made by
/// <see cref="CsFlowTorchTrainer.Start"/>, advanced by <see cref="CsFlowTorchTrainer.Train(CsFlowTorchTrainingState, IReadOnlyList{torch.Tensor}, IProgress{CsFlowEpochReport}?, CancellationToken)"/>,
/// saved and read by <see cref="CsFlowTorchCheckpoint"/>. Owns the module and the optimiser: dispose it to free their
/// native memory.
/// </summary>
internal sealed class CsFlowTorchTrainingState : IDisposable
{
    private bool _disposed;

    internal CsFlowTorchTrainingState(CsFlowModule module, HeldScalarAdam optimizer)
    {
        Module = module;
        Optimizer = optimizer;
    }

    /// <summary>The module being trained.</summary>
    public CsFlowModule Module { get; }

    /// <summary>Adam over the module's parameters, in <c>Module.parameters()</c> order.</summary>
    public HeldScalarAdam Optimizer { get; }

    /// <summary>Epochs completed so far; the next training continues with the one after.</summary>
    public int CompletedEpochs { get; internal set; }

    /// <summary>Training samples of the completed epochs (0 before the first); a continued run must use as many.</summary>
    public int SampleCount { get; internal set; }

    /// <summary>What the completed epochs' features looked like (null before the first epoch).</summary>
    internal TrainingDataFingerprint? DataFingerprint { get; set; }

    /// <summary>Frees the optimiser's and the module's native memory (idempotent).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Optimizer.Dispose();
        Module.Dispose();
    }
}
