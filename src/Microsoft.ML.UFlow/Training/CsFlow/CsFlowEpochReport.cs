namespace Microsoft.ML.UFlow.Training;

/// <summary>Progress of <see cref="CsFlowTorchTrainer"/> after one epoch.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Epochs">Total epochs.</param>
/// <param name="MeanLoss">Mean of the per-batch losses (per dimension) over the epoch.</param>
/// <param name="Elapsed">Time spent in this epoch.</param>
internal readonly record struct CsFlowEpochReport(int Epoch, int Epochs, double MeanLoss, TimeSpan Elapsed);
