namespace Microsoft.ML.UFlow.Api.Evaluation;

/// <summary>Image-level anomaly-detection metrics (ML.NET's <c>AnomalyDetectionMetrics</c>).</summary>
/// <param name="AreaUnderRocCurve">Image AUROC of the scores (ties ½); NaN when a class is missing.</param>
/// <param name="DetectionRateAtFalsePositives">Fraction of anomalous images ranked above the first K+1 false positives.</param>
/// <param name="FalsePositiveCount">The K used.</param>
/// <param name="ImageCount">Images evaluated.</param>
/// <param name="AnomalousImageCount">Anomalous images among them.</param>
public sealed record AnomalyDetectionMetrics(double AreaUnderRocCurve, double DetectionRateAtFalsePositives, int FalsePositiveCount, int ImageCount, int AnomalousImageCount);
