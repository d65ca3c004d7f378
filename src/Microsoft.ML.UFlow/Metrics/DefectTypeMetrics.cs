namespace Microsoft.ML.UFlow.Metrics;

/// <summary>The metrics of the test images of one defect type (or of the normal images), from <see cref="DefectTypeBreakdown"/>.</summary>
/// <param name="DefectType">The type as the data set names it (e.g. <c>broken_large</c>; <c>good</c> for MVTec AD normals).</param>
/// <param name="IsAnomalous">False for the group of normal images.</param>
/// <param name="ImageCount">Images of this type.</param>
/// <param name="ImageAuroc">Image AUROC of this type's images against all normal images (ties ½); NaN for a normal group.</param>
/// <param name="FlaggedImageCount">
/// Images whose predicted label is anomalous (score above the model's threshold): detections for a defect type, false
/// alarms for normal images; null when no predicted labels were given.
/// </param>
/// <param name="Segmentation">How the segmentation masks of this type's images compare with their ground truth; null when no masks were given.</param>
public sealed record DefectTypeMetrics(
    string DefectType,
    bool IsAnomalous,
    int ImageCount,
    double ImageAuroc,
    int? FlaggedImageCount,
    DefectTypeSegmentation? Segmentation);
