namespace Microsoft.ML.UFlow.Metrics;

/// <summary>Segmentation metrics of one defect type's images (masks anomalous where set, ground truth where &gt; 0.5).</summary>
/// <param name="ImagesWithDetection">Images with at least one predicted pixel (for normal images: false alarms).</param>
/// <param name="MeanIou">Mean of the U-Flow per-image IoU over this type's images (<see cref="IntersectionOverUnion"/>).</param>
/// <param name="Precision">Pooled |P ∩ G| / |P| over this type's images; NaN when nothing was predicted.</param>
/// <param name="Recall">Pooled |P ∩ G| / |G| over this type's images; NaN without ground-truth pixels (normal images).</param>
public sealed record DefectTypeSegmentation(int ImagesWithDetection, double MeanIou, double Precision, double Recall);
