using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Data;

namespace Microsoft.ML.UFlow.Api;

public sealed partial class DataCatalog
{
    /// <summary>
    /// Lists the images of an anomaly-detection folder, detecting its layout (MVTec AD category, plain folder, or MTD with
    /// its split file; see <see cref="DatasetReader.Open"/>), as a view with <c>ImagePath</c>, <c>Label</c> (true =
    /// anomalous), <c>MaskPath</c> ("" when there is none) and <c>DefectType</c>. Nothing is decoded until a transform reads the rows.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="ArgumentException">The layout cannot be recognised.</exception>
    public IDataView LoadFromDirectory(string directory, DataSplit split)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return LoadFromDataset(DatasetReader.Open(directory), split);
    }

    /// <summary>The training or test part of an opened data set, as <see cref="LoadFromDirectory"/> returns it.</summary>
    public IDataView LoadFromDataset(AnomalyDataset dataset, DataSplit split)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var items = (split == DataSplit.Train ? dataset.Train : dataset.Test).ToList();
        return LoadFromImagePaths(items.Select(i => i.ImagePath), items.Select(i => i.IsAnomalous), items.Select(i => i.MaskPath), items.Select(i => i.DefectType));
    }
}
