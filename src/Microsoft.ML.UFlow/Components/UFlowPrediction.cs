using Microsoft.ML.Data;

namespace Microsoft.ML.UFlow;

/// <summary>What a U-Flow model with the NFA segmentation predicts for one image (<c>PredictionEngine</c> output).</summary>
public sealed class UFlowPrediction
{
    /// <summary>The image anomaly score (higher = more anomalous).</summary>
    [ColumnName(AnomalyColumns.Score)]
    public float Score { get; set; }

    /// <summary>Score above the model's threshold.</summary>
    [ColumnName(AnomalyColumns.PredictedLabel)]
    public bool PredictedLabel { get; set; }

    /// <summary>The anomaly map, row-major on the map grid (S×S for a square input, else its aspect), values in [0, 1].</summary>
    [ColumnName(AnomalyColumns.AnomalyMap)]
    public float[] AnomalyMap { get; set; } = [];

    /// <summary>−log10 NFA per pixel, on the map grid: positive means detected.</summary>
    [ColumnName(AnomalyColumns.LogNfa)]
    public float[] LogNfa { get; set; } = [];

    /// <summary>The automatic segmentation, on the map grid (log10 NFA &lt; 0).</summary>
    [ColumnName(AnomalyColumns.SegmentationMask)]
    public bool[] SegmentationMask { get; set; } = [];

    /// <summary>Whether the segmentation detected anything.</summary>
    public bool HasDetection => Array.IndexOf(SegmentationMask, true) >= 0;
}
