using Microsoft.ML.UFlow;
using Microsoft.ML.UFlow.Data;

namespace Microsoft.ML;

/// <summary>Loads anomaly-detection image folders as <see cref="IDataView"/>s.</summary>
public static class AnomalyImagesCatalog
{
    /// <summary>
    /// Create an <see cref="IDataView"/> over one split of an anomaly-detection data set: an MVTec AD category folder
    /// (<c>train/good</c>, <c>test/&lt;type&gt;</c>, <c>ground_truth/&lt;type&gt;/&lt;name&gt;_mask.png</c>), a plain folder
    /// (<c>normal/</c> or <c>good/</c>, optional <c>abnormal/</c> and <c>mask/</c>) or the Magnetic Tile Defects folder
    /// (its <c>split.txt</c>).
    /// </summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="path">The data set's folder.</param>
    /// <param name="split">Train (normal images) or test.</param>
    /// <returns>Columns <c>ImagePath</c> (text), <c>Label</c> (Single, 1 = anomalous), <c>MaskPath</c> (text, empty when
    /// none), <c>DefectType</c> (text), one row per image in a fixed order.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="ArgumentException">The folder is none of the layouts, or the split has no image.</exception>
    public static IDataView LoadAnomalyImages(this DataOperationsCatalog catalog, string path, AnomalyImageSplit split)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(path);
        AnomalyDataset dataset = DatasetReader.Open(path);
        var items = (split == AnomalyImageSplit.Train ? dataset.Train : dataset.Test).ToList();
        if (items.Count == 0)
            throw new ArgumentException($"'{path}' has no {split.ToString().ToLowerInvariant()} images.", nameof(path));
        return catalog.LoadFromEnumerable(items.Select(ToRow).ToList());
    }

    /// <summary>
    /// Create an <see cref="IDataView"/> over image files given by path (for example to score a folder): <c>Label</c> 0,
    /// no mask, <c>DefectType</c> "unknown".
    /// </summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="imagePaths">The image files.</param>
    public static IDataView LoadAnomalyImages(this DataOperationsCatalog catalog, IEnumerable<string> imagePaths)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(imagePaths);
        var rows = imagePaths.Select(p => new AnomalyImage { ImagePath = p, DefectType = "unknown" }).ToList();
        if (rows.Count == 0) throw new ArgumentException("No image paths were given.", nameof(imagePaths));
        return catalog.LoadFromEnumerable(rows);
    }

    internal static AnomalyImage ToRow(DatasetItem item) => new()
    {
        ImagePath = item.ImagePath,
        Label = item.IsAnomalous ? 1f : 0f,
        MaskPath = item.MaskPath ?? "",
        DefectType = item.DefectType,
    };
}
