namespace Microsoft.ML.UFlow.Metrics;

/// <summary>Image-level metrics.</summary>
/// <param name="Auroc">Area under the ROC curve of the image scores (ties ½); NaN when a class is missing.</param>
/// <param name="DetectionRateAtFalsePositiveCount">Fraction of anomalous images detected before K false positives; NaN without anomalies.</param>
/// <param name="FalsePositiveCount">The K used.</param>
/// <param name="ImageCount">Images evaluated.</param>
/// <param name="AnomalousCount">Anomalous images among them.</param>
public sealed record ImageMetrics(double Auroc, double DetectionRateAtFalsePositiveCount, int FalsePositiveCount, int ImageCount, int AnomalousCount);
