using Microsoft.ML.Data;

namespace Microsoft.ML.UFlow;

/// <summary>The input of a <c>PredictionEngine</c> over a saved model: the path of one image.</summary>
public sealed class ImageInput
{
    /// <summary>Path of the image file.</summary>
    [ColumnName(AnomalyColumns.ImagePath)]
    public string ImagePath { get; set; } = "";
}
