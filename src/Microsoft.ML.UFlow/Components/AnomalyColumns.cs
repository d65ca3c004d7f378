namespace Microsoft.ML.UFlow;

/// <summary>The column names the components read and write by default (DESIGN.md §6).</summary>
public static class AnomalyColumns
{
    /// <summary>Path of the image file (text).</summary>
    public const string ImagePath = "ImagePath";

    /// <summary>Ground truth: 1 = anomalous, 0 = normal (Single, as ML.NET's anomaly evaluator requires).</summary>
    public const string Label = "Label";

    /// <summary>Path of the ground-truth mask (text; empty for normal images).</summary>
    public const string MaskPath = "MaskPath";

    /// <summary>The defect type (text; "good" for normal images of MVTec AD).</summary>
    public const string DefectType = "DefectType";

    /// <summary>The loaded image (<c>MLImage</c>).</summary>
    public const string Image = "Image";

    /// <summary>The featurizer's output: every chosen map flattened and concatenated, finest first (vector of Single).</summary>
    public const string Features = "Features";

    /// <summary>The image anomaly score (Single, higher = more anomalous).</summary>
    public const string Score = "Score";

    /// <summary>Score above the model's threshold (Boolean).</summary>
    public const string PredictedLabel = "PredictedLabel";

    /// <summary>The pixel anomaly map, row-major on the map grid (S×S for a square input, else its aspect: Scoring.MapGrid; vector of Single).</summary>
    public const string AnomalyMap = "AnomalyMap";

    /// <summary>U-Flow's latents of every scale, flattened and concatenated, finest first (vector of Single).</summary>
    public const string Latents = "Latents";

    /// <summary>−log10 NFA per pixel, on the map grid (vector of Single): positive means detected.</summary>
    public const string LogNfa = "LogNfa";

    /// <summary>The automatic segmentation, on the map grid (vector of Boolean): LogNfa &gt; 0, i.e. log10 NFA &lt; 0.</summary>
    public const string SegmentationMask = "SegmentationMask";

    /// <summary>The suffix of the constant column that gives the [C, H, W] of each scale of a concatenated column.</summary>
    public const string ShapesSuffix = ".Shapes";
}
