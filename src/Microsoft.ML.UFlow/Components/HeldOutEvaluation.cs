namespace Microsoft.ML.UFlow;

/// <summary>
/// The flow evaluated on the held-out normal training images (never trained on): their number, their mean negative
/// log-likelihood with the training loss's normalisation (0.5·Σ z² − log det per image, METHOD.md A.4) and the mean z²
/// per scale over channels, positions and images (≈ 1 for a calibrated flow, A.7.8), finest scale first.
/// </summary>
/// <param name="Images">The number of held-out images.</param>
/// <param name="Loss">Their mean negative log-likelihood (the training loss's normalisation).</param>
/// <param name="MeanSquarePerScale">Their mean z² per scale, finest first.</param>
public sealed record HeldOutEvaluation(int Images, double Loss, IReadOnlyList<double> MeanSquarePerScale);
