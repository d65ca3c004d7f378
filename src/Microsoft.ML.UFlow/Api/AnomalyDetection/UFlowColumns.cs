namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>The default column names (DESIGN.md §6), as ML.NET's <c>DefaultColumnNames</c>.</summary>
public static class UFlowColumns
{
    /// <summary>Decoded images.</summary>
    public const string Image = "Image";

    /// <summary>Normalised pixels [3, H, W].</summary>
    public const string Pixels = "Pixels";

    /// <summary>Multi-scale features.</summary>
    public const string Features = "Features";

    /// <summary>Flow latents, one map per scale.</summary>
    public const string Latents = "Latents";

    /// <summary>The likelihood anomaly map [S, S] in [0, 1] (METHOD.md A.6).</summary>
    public const string AnomalyMap = "AnomalyMap";

    /// <summary>The image score (max of the anomaly map).</summary>
    public const string Score = "Score";

    /// <summary>Score above the model's threshold.</summary>
    public const string PredictedLabel = "PredictedLabel";

    /// <summary>The −log10 NFA map [S, S] (METHOD.md A.7.5); positive values are detections.</summary>
    public const string LogNfa = "LogNfa";

    /// <summary>The automatic segmentation [S, S]: 1 where log10 NFA &lt; 0, else 0.</summary>
    public const string SegmentationMask = "SegmentationMask";

    /// <summary>The ground-truth mask [S, S] (0/1) used by the evaluators.</summary>
    public const string GroundTruth = "GroundTruth";

    /// <summary>The resolution of pixel maps and metrics (METHOD.md Part B).</summary>
    public const int EvaluationSize = 256;
}
