using Microsoft.ML.Data;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>
/// One test image as <c>uflow eval</c> reads it from the scored data (<c>MLContext.Data.CreateEnumerable</c>, missing
/// columns ignored): the data set's columns and the model's outputs; the NFA columns stay empty for models without the
/// segmentation (CS-Flow).
/// </summary>
internal sealed class ScoredImage
{
    [ColumnName(AnomalyColumns.ImagePath)]
    public string ImagePath { get; set; } = "";

    [ColumnName(AnomalyColumns.Label)]
    public float Label { get; set; }

    [ColumnName(AnomalyColumns.MaskPath)]
    public string MaskPath { get; set; } = "";

    [ColumnName(AnomalyColumns.DefectType)]
    public string DefectType { get; set; } = "";

    [ColumnName(AnomalyColumns.Score)]
    public float Score { get; set; }

    [ColumnName(AnomalyColumns.PredictedLabel)]
    public bool PredictedLabel { get; set; }

    [ColumnName(AnomalyColumns.AnomalyMap)]
    public float[] AnomalyMap { get; set; } = [];

    [ColumnName(AnomalyColumns.LogNfa)]
    public float[] LogNfa { get; set; } = [];

    [ColumnName(AnomalyColumns.SegmentationMask)]
    public bool[] SegmentationMask { get; set; } = [];
}
