namespace Microsoft.ML.UFlow.Data;

/// <summary>
/// Reads one MVTec AD category folder: <c>train/good/*.png</c> (normal training images), <c>test/&lt;type&gt;/*.png</c>
/// (<c>good</c> = normal, every other type = anomalous) and <c>ground_truth/&lt;type&gt;/&lt;name&gt;_mask.png</c>
/// (0/255), one mask for every anomalous test image.
/// </summary>
public static class MvtecAdReader
{
    /// <summary>The name of the normal class folder.</summary>
    public const string GoodFolder = "good";

    /// <summary>Opens a category folder (e.g. <c>mvtec_ad/bottle</c>).</summary>
    /// <exception cref="DirectoryNotFoundException">The folder, <c>train/good</c> or <c>test</c> is missing.</exception>
    /// <exception cref="InvalidDataException">A required folder holds no images.</exception>
    /// <exception cref="FileNotFoundException">An anomalous test image has no mask (the message names the expected mask file).</exception>
    public static AnomalyDataset Open(string categoryDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(categoryDirectory);
        string root = Path.GetFullPath(categoryDirectory);
        DatasetFiles.RequireDirectory(root, "MVTec AD category");
        var train = DatasetFiles.ListImagesRequired(Path.Combine(root, "train", GoodFolder), "MVTec AD training (train/good)")
            .Select(p => new DatasetItem(p, false, GoodFolder, null))
            .ToList();

        string testRoot = Path.Combine(root, "test");
        DatasetFiles.RequireDirectory(testRoot, "MVTec AD test");
        var test = new List<DatasetItem>();
        foreach (string typeDir in DatasetFiles.ListSubdirectories(testRoot))
        {
            string type = Path.GetFileName(typeDir);
            bool anomalous = type != GoodFolder;
            foreach (string image in DatasetFiles.ListImagesRequired(typeDir, $"MVTec AD test ({type})"))
            {
                string? mask = null;
                if (anomalous)
                {
                    mask = Path.Combine(root, "ground_truth", type, Path.GetFileNameWithoutExtension(image) + "_mask.png");
                    if (!File.Exists(mask)) throw new FileNotFoundException($"Missing ground-truth mask '{mask}' for the anomalous test image '{image}'.", mask);
                }
                test.Add(new DatasetItem(image, anomalous, type, mask));
            }
        }
        if (test.Count == 0) throw new InvalidDataException($"The MVTec AD test folder '{testRoot}' contains no defect-type folders.");
        return new AnomalyDataset(Path.GetFileName(root), root, DatasetLayout.MvtecAd, train, test);
    }

    /// <summary>True when the folder looks like an MVTec AD category (has <c>train/good</c> and <c>test</c>).</summary>
    public static bool Looks(string directory) =>
        Directory.Exists(Path.Combine(directory, "train", GoodFolder)) && Directory.Exists(Path.Combine(directory, "test"));
}
