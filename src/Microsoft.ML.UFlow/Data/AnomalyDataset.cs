namespace Microsoft.ML.UFlow.Data;

/// <summary>
/// A data set as two streams of <see cref="DatasetItem"/>: training images (normal only) and test images (normal and
/// anomalous). Opening a data set lists file names and checks that every expected file exists; the streams are lazy
/// and check, as each item is reached, that its image (and mask) can be opened, so nothing is loaded up front.
/// </summary>
public sealed class AnomalyDataset
{
    private readonly IReadOnlyList<DatasetItem> _train;
    private readonly IReadOnlyList<DatasetItem> _test;

    internal AnomalyDataset(string name, string root, DatasetLayout layout, IReadOnlyList<DatasetItem> train, IReadOnlyList<DatasetItem> test)
    {
        Name = name;
        Root = root;
        Layout = layout;
        _train = train;
        _test = test;
    }

    /// <summary>A short name (the category or folder name).</summary>
    public string Name { get; }

    /// <summary>The folder the data set was opened from.</summary>
    public string Root { get; }

    /// <summary>The layout that was read.</summary>
    public DatasetLayout Layout { get; }

    /// <summary>Training images (all normal), in a fixed order.</summary>
    /// <exception cref="IOException">While enumerating: an image that cannot be opened (the message names it).</exception>
    public IEnumerable<DatasetItem> Train => Stream(_train);

    /// <summary>Test images, in a fixed order (folders, then file names, ordinal).</summary>
    /// <exception cref="IOException">While enumerating: an image or mask that cannot be opened (the message names it).</exception>
    public IEnumerable<DatasetItem> Test => Stream(_test);

    /// <summary>Number of training images.</summary>
    public int TrainCount => _train.Count;

    /// <summary>Number of test images.</summary>
    public int TestCount => _test.Count;

    /// <summary>Opens every image and mask once (without decoding) and throws on the first that cannot be read.</summary>
    public void Validate()
    {
        foreach (var _ in Train) { }
        foreach (var _ in Test) { }
    }

    private static IEnumerable<DatasetItem> Stream(IReadOnlyList<DatasetItem> items)
    {
        foreach (var item in items)
        {
            DatasetFiles.CheckReadable(item.ImagePath, "image");
            if (item.MaskPath is not null) DatasetFiles.CheckReadable(item.MaskPath, "mask");
            yield return item;
        }
    }
}
