namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>Progress of a trainer: the phase (<c>featurize</c> or <c>train</c>), items done of total, and the running loss.</summary>
/// <param name="Phase">The phase name.</param>
/// <param name="Done">Items done (images featurised, or optimisation steps).</param>
/// <param name="Total">Total items, or -1 when unknown.</param>
/// <param name="Loss">Mean loss of the current epoch so far (training phase), else null.</param>
public sealed record TrainingProgress(string Phase, int Done, int Total, double? Loss = null);

/// <summary>What a U-Flow training run did.</summary>
/// <param name="Epochs">Epochs trained, including those of a checkpoint the training continued.</param>
/// <param name="Steps">Optimiser steps, likewise.</param>
/// <param name="TrainingImages">Images the features were cached for.</param>
/// <param name="FinalLoss">Mean loss of the last epoch.</param>
/// <param name="FeaturizeSeconds">Time spent reading and featurising the images.</param>
/// <param name="TrainSeconds">Time spent optimising the flow (in this run).</param>
public sealed record UFlowTrainingSummary(int Epochs, int Steps, int TrainingImages, double FinalLoss, double FeaturizeSeconds, double TrainSeconds);
