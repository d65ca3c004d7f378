namespace Microsoft.ML.UFlow.Data;

/// <summary>One image of an anomaly-detection data set: where it is, whether it is anomalous, and its mask.</summary>
/// <param name="ImagePath">Full path of the image file.</param>
/// <param name="IsAnomalous">True for a defective image, false for a normal ("good") one.</param>
/// <param name="DefectType">The defect class as the data set names it (e.g. <c>broken_large</c>; <c>good</c> for MVTec AD normals, <c>Free</c> for MTD).</param>
/// <param name="MaskPath">Full path of the ground-truth mask (defect where the 8-bit value is &gt; 127), or null when there is none (normal images, image-level-only data).</param>
public sealed record DatasetItem(string ImagePath, bool IsAnomalous, string DefectType, string? MaskPath)
{
    /// <summary>The file name of the image without its extension.</summary>
    public string Stem => Path.GetFileNameWithoutExtension(ImagePath);
}
