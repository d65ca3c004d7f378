namespace Microsoft.ML.UFlow;

/// <summary>Progress of a trainer's <c>Fit</c>: phase ("featurize", "train", "score"), units done of the total, and the
/// last epoch's mean loss while training.</summary>
public sealed record TrainingProgress(string Phase, int Done, int Total, double? Loss = null);
