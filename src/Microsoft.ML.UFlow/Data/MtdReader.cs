namespace Microsoft.ML.UFlow.Data;

/// <summary>
/// Reads Magnetic Tile Defects (MTD) with a split file. Each non-comment line of <c>split.txt</c> is
/// <c>split &lt;tab&gt; class &lt;tab&gt; stem</c> with split <c>train</c> or <c>test</c>; the image is
/// <c>MT_&lt;class&gt;/Imgs/&lt;stem&gt;.jpg</c> and its mask <c>MT_&lt;class&gt;/Imgs/&lt;stem&gt;.png</c>. Class <c>Free</c> is
/// normal. Masks are anti-aliased: a pixel is a defect where its 8-bit value is &gt; 127; a few defect masks are empty.
/// </summary>
public static class MtdReader
{
    /// <summary>The default split file name, in the data set folder.</summary>
    public const string SplitFileName = "split.txt";

    /// <summary>The class of normal tiles.</summary>
    public const string NormalClass = "Free";

    /// <summary>Opens MTD at <paramref name="directory"/> with <paramref name="splitFile"/> (default <c>&lt;directory&gt;/split.txt</c>).</summary>
    /// <exception cref="DirectoryNotFoundException">The folder is missing.</exception>
    /// <exception cref="FileNotFoundException">The split file, a listed image, or the mask of a listed defect image is missing (named).</exception>
    /// <exception cref="InvalidDataException">A malformed split line (file and line number named), a defect image in the training split, or an empty split.</exception>
    public static AnomalyDataset Open(string directory, string? splitFile = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string root = Path.GetFullPath(directory);
        DatasetFiles.RequireDirectory(root, "MTD");
        string split = Path.GetFullPath(splitFile ?? Path.Combine(root, SplitFileName));
        if (!File.Exists(split)) throw new FileNotFoundException($"The MTD split file '{split}' does not exist.", split);

        var train = new List<DatasetItem>();
        var test = new List<DatasetItem>();
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(split))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            string[] cols = line.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            if (cols.Length != 3) throw new InvalidDataException($"{split}:{lineNumber}: expected 'split<TAB>class<TAB>stem', got '{raw}'.");
            string part = cols[0], cls = cols[1], stem = cols[2];
            bool anomalous = cls != NormalClass;
            if (part != "train" && part != "test") throw new InvalidDataException($"{split}:{lineNumber}: split must be 'train' or 'test', got '{part}'.");
            if (part == "train" && anomalous) throw new InvalidDataException($"{split}:{lineNumber}: the training split may hold only normal ({NormalClass}) images, got class '{cls}'.");
            string folder = Path.Combine(root, "MT_" + cls, "Imgs");
            string image = Path.Combine(folder, stem + ".jpg");
            if (!File.Exists(image)) throw new FileNotFoundException($"{split}:{lineNumber}: the listed image '{image}' does not exist.", image);
            string? mask = null;
            if (anomalous)
            {
                mask = Path.Combine(folder, stem + ".png");
                if (!File.Exists(mask)) throw new FileNotFoundException($"{split}:{lineNumber}: missing mask '{mask}' for the defect image '{image}'.", mask);
            }
            (part == "train" ? train : test).Add(new DatasetItem(image, anomalous, cls, mask));
        }
        if (train.Count == 0 || test.Count == 0) throw new InvalidDataException($"The MTD split file '{split}' lists {train.Count} training and {test.Count} test images; both must be non-empty.");
        return new AnomalyDataset("mtd", root, DatasetLayout.Mtd, train, test);
    }

    /// <summary>True when the folder looks like MTD (a split file and at least one <c>MT_*</c> folder).</summary>
    public static bool Looks(string directory) =>
        File.Exists(Path.Combine(directory, SplitFileName)) && Directory.EnumerateDirectories(directory, "MT_*").Any();
}
