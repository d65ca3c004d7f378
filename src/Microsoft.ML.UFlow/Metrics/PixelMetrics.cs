namespace Microsoft.ML.UFlow.Metrics;

/// <summary>Pixel-level metrics over every pixel of every evaluated image (METHOD.md Part B).</summary>
/// <param name="Auroc">Pixel AUROC (ties ½); NaN when there is no anomalous or no normal pixel.</param>
/// <param name="Aupro">Area under the per-region-overlap curve up to the FPR limit, divided by the limit (MVTec AD official definition); NaN without regions or normal pixels.</param>
/// <param name="AuproFprLimit">The FPR limit used for <paramref name="Aupro"/> (0.3 by default).</param>
/// <param name="F1Max">Best F1 over all thresholds (each distinct score is a threshold, predicting anomalous where score ≥ threshold); NaN without anomalous pixels.</param>
/// <param name="F1MaxThreshold">The score threshold reaching <paramref name="F1Max"/> (the largest one when several tie).</param>
/// <param name="ImageCount">Maps evaluated.</param>
/// <param name="PixelCount">Pixels evaluated.</param>
/// <param name="AnomalousPixelCount">Ground-truth anomalous pixels.</param>
/// <param name="RegionCount">8-connected ground-truth regions (K in the PRO average).</param>
public sealed record PixelMetrics(
    double Auroc,
    double Aupro,
    double AuproFprLimit,
    double F1Max,
    float F1MaxThreshold,
    int ImageCount,
    long PixelCount,
    long AnomalousPixelCount,
    int RegionCount);
