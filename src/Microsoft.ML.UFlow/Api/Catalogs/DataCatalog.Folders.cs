using Microsoft.ML.UFlow.Api.Data;

namespace Microsoft.ML.UFlow.Api;

public sealed partial class DataCatalog
{
    /// <summary>
    /// Lists the images of an anomaly-detection folder (MVTec AD category, plain folder, or MTD; detected when
    /// <paramref name="layout"/> is <see cref="DataLayout.Auto"/>) as a view with <c>ImagePath</c>, <c>Label</c> (true =
    /// anomalous) and <c>MaskPath</c> ("" for normal images). Nothing is decoded until a transform reads the rows.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="ArgumentException">The layout cannot be recognised.</exception>
    /// <exception cref="FileNotFoundException">An MVTec AD ground-truth mask is missing.</exception>
    public IDataView LoadFromDirectory(string directory, DataSplit split, DataLayout layout = DataLayout.Auto)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var rows = AnomalyFolderReader.List(Path.GetFullPath(directory), split, layout);
        return LoadFromImagePaths(rows.Select(r => r.Image), rows.Select(r => r.Label), rows.Select(r => (string?)r.Mask));
    }
}
