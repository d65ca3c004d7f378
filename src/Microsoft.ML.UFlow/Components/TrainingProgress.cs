namespace Microsoft.ML.UFlow;

/// <summary>Progress of a trainer's <c>Fit</c>: phase ("featurize", "train", "score"; U-Flow also reports "epoch" once per
/// finished epoch, with its number of the maximum), units done of the total, the last epoch's mean loss while training,
/// and for U-Flow with held-out images the last epoch's <see cref="HeldOutEvaluation"/>.</summary>
public sealed record TrainingProgress(string Phase, int Done, int Total, double? Loss = null, HeldOutEvaluation? HeldOut = null);
