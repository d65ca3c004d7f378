namespace Microsoft.ML.UFlow;

/// <summary>Pixel-level metrics of anomaly maps and of the automatic NFA segmentation (METHOD.md Part B, at S×S).</summary>
/// <param name="PixelAuroc">ROC AUC over all pixels of all images.</param>
/// <param name="Aupro">Area under the PRO curve up to FPR 0.3, divided by 0.3 (MVTec AD official definition).</param>
/// <param name="MeanIouAtNfa">U-Flow's mIoU of the segmentation mask (log10 NFA &lt; 0) over all images; NaN when the
/// data has no <c>SegmentationMask</c> column (CS-Flow).</param>
/// <param name="F1MaxPixel">Best pixel F1 over all anomaly-map thresholds.</param>
/// <param name="F1MaxThreshold">The anomaly-map threshold reaching <paramref name="F1MaxPixel"/>.</param>
/// <param name="FalseAlarmImages">Normal images in which the segmentation detected at least one pixel (0 without masks).</param>
/// <param name="ImageCount">Images evaluated.</param>
/// <param name="AnomalousPixelCount">Ground-truth anomalous pixels.</param>
/// <param name="RegionCount">8-connected ground-truth regions.</param>
public sealed record SegmentationMetrics(
    double PixelAuroc,
    double Aupro,
    double MeanIouAtNfa,
    double F1MaxPixel,
    float F1MaxThreshold,
    int FalseAlarmImages,
    int ImageCount,
    long AnomalousPixelCount,
    int RegionCount);
