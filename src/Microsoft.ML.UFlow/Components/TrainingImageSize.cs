using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.UFlow;

/// <summary>
/// The size the training images were resized to, read from the data's <c>Image</c> column (ML.NET's
/// <c>ResizeImages</c> gives it a known width and height), so that the flow graph can record it.
/// </summary>
internal static class TrainingImageSize
{
    /// <summary>(width, height) of the <c>Image</c> column, or null when the data has none of known size.</summary>
    public static (int Width, int Height)? Of(DataViewSchema schema)
        => schema.GetColumnOrNull(AnomalyColumns.Image)?.Type is ImageDataViewType { Height: > 0, Width: > 0 } image ? (image.Width, image.Height) : null;
}
