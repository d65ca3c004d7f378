using Microsoft.ML.Data;
using Microsoft.ML.UFlow;

/// <summary>What every model of the library predicts for one image (CS-Flow, or U-Flow without the NFA step).</summary>
internal sealed class ImageScore
{
    /// <summary>The image anomaly score.</summary>
    [ColumnName(AnomalyColumns.Score)]
    public float Score { get; set; }

    /// <summary>Score above the model's threshold (the highest training score).</summary>
    [ColumnName(AnomalyColumns.PredictedLabel)]
    public bool PredictedLabel { get; set; }

    /// <summary>The anomaly map, S×S row-major, values in [0, 1].</summary>
    [ColumnName(AnomalyColumns.AnomalyMap)]
    public float[] AnomalyMap { get; set; } = [];
}
