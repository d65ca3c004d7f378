namespace Microsoft.ML.UFlow.Data;

/// <summary>Opens a data set folder, recognising its layout (for the command line).</summary>
public static class DatasetReader
{
    private static readonly string[] NormalNames = ["normal", "good"];
    private static readonly string[] AbnormalNames = ["abnormal", "anomalous", "defect", "defective", "bad"];
    private static readonly string[] MaskNames = ["mask", "masks", "ground_truth"];
    private static readonly string[] NormalTestNames = ["normal_test", "test_normal", "good_test"];

    /// <summary>
    /// Recognises and opens: MTD (a <c>split.txt</c> beside <c>MT_*</c> folders), an MVTec AD category
    /// (<c>train/good</c> and <c>test</c>), or a plain folder layout (subfolders <c>normal</c>|<c>good</c>, optionally
    /// <c>abnormal</c>|<c>anomalous</c>|<c>defect</c>|<c>defective</c>|<c>bad</c>, <c>mask</c>|<c>masks</c>|<c>ground_truth</c>
    /// and <c>normal_test</c>|<c>test_normal</c>|<c>good_test</c>).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">No known layout matches (the message says what was expected).</exception>
    public static AnomalyDataset Open(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string root = Path.GetFullPath(directory);
        DatasetFiles.RequireDirectory(root, "data set");
        if (MtdReader.Looks(root)) return MtdReader.Open(root);
        if (MvtecAdReader.Looks(root)) return MvtecAdReader.Open(root);

        string? normal = Find(root, NormalNames);
        if (normal is not null)
        {
            return FolderDatasetReader.Open(new FolderDatasetOptions
            {
                Root = root,
                NormalDirectory = normal,
                AbnormalDirectory = Find(root, AbnormalNames),
                MaskDirectory = Find(root, AbnormalNames) is null ? null : Find(root, MaskNames),
                NormalTestDirectory = Find(root, NormalTestNames),
            });
        }

        var categories = DatasetFiles.ListSubdirectories(root).Where(MvtecAdReader.Looks).Select(Path.GetFileName).ToList();
        if (categories.Count > 0)
        {
            throw new InvalidDataException($"'{root}' looks like an MVTec AD root; open one category folder instead (found: {string.Join(", ", categories)}).");
        }
        throw new InvalidDataException(
            $"'{root}' matches no known data set layout: expected an MVTec AD category (train/good, test/<type>, ground_truth/<type>), " +
            $"MTD ({MtdReader.SplitFileName} beside MT_<class>/Imgs), or a folder layout (normal/ or good/, with optional abnormal/ and mask/).");
    }

    private static string? Find(string root, string[] names)
    {
        foreach (string name in names)
        {
            string path = Path.Combine(root, name);
            if (Directory.Exists(path)) return name;
        }
        return null;
    }
}
