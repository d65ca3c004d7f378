using Microsoft.ML.Data;

namespace Microsoft.ML.UFlow;

/// <summary>One row of an anomaly-detection data set, as <c>LoadAnomalyImages</c> gives it.</summary>
public sealed class AnomalyImage
{
    /// <summary>Path of the image file.</summary>
    [ColumnName(AnomalyColumns.ImagePath)]
    public string ImagePath { get; set; } = "";

    /// <summary>1 = anomalous, 0 = normal.</summary>
    [ColumnName(AnomalyColumns.Label)]
    public float Label { get; set; }

    /// <summary>Path of the ground-truth mask; empty for normal images and where the data set has none.</summary>
    [ColumnName(AnomalyColumns.MaskPath)]
    public string MaskPath { get; set; } = "";

    /// <summary>The defect type ("good" for normal images).</summary>
    [ColumnName(AnomalyColumns.DefectType)]
    public string DefectType { get; set; } = "";
}
