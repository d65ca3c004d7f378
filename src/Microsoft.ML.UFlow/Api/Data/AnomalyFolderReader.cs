namespace Microsoft.ML.UFlow.Api.Data;

/// <summary>Lists (image, label, mask) triples of the supported layouts, sorted by path for reproducible order.</summary>
internal static class AnomalyFolderReader
{
    private static readonly string[] s_extensions = [".png", ".jpg", ".jpeg", ".bmp"];

    public static DataLayout Detect(string root)
    {
        if (File.Exists(Path.Combine(root, "split.txt")) && Directory.Exists(Path.Combine(root, "MT_Free"))) return DataLayout.Mtd;
        if (Directory.Exists(Path.Combine(root, "train", "good"))) return DataLayout.MvTec;
        if (Directory.Exists(Path.Combine(root, "normal"))) return DataLayout.Folder;
        throw new ArgumentException($"'{root}' is not a recognised data folder: expected an MVTec AD category (train/good, test/...), a plain folder (normal/, abnormal/, mask/), or the MTD folder (split.txt, MT_Free/, ...).");
    }

    public static List<(string Image, bool Label, string Mask)> List(string root, DataSplit split, DataLayout layout)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"Data folder '{root}' does not exist.");
        if (layout == DataLayout.Auto) layout = Detect(root);
        var rows = layout switch
        {
            DataLayout.MvTec => MvTec(root, split),
            DataLayout.Folder => Folder(root, split),
            DataLayout.Mtd => Mtd(root, split),
            _ => throw new ArgumentOutOfRangeException(nameof(layout), layout, null),
        };
        return rows;
    }

    private static IEnumerable<string> Images(string dir)
        => Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir).Where(f => s_extensions.Contains(Path.GetExtension(f).ToLowerInvariant()) && !Path.GetFileNameWithoutExtension(f).EndsWith("_mask", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            : [];

    private static List<(string, bool, string)> MvTec(string root, DataSplit split)
    {
        var rows = new List<(string, bool, string)>();
        if (split == DataSplit.Train)
        {
            foreach (var f in Images(Path.Combine(root, "train", "good"))) rows.Add((f, false, ""));
            return rows;
        }
        string test = Path.Combine(root, "test");
        if (!Directory.Exists(test)) throw new DirectoryNotFoundException($"MVTec AD folder '{root}' has no test/ folder.");
        foreach (var type in Directory.GetDirectories(test).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(type);
            bool anomalous = name != "good";
            foreach (var f in Images(type))
            {
                string mask = "";
                if (anomalous)
                {
                    mask = Path.Combine(root, "ground_truth", name, Path.GetFileNameWithoutExtension(f) + "_mask.png");
                    if (!File.Exists(mask)) throw new FileNotFoundException($"MVTec AD: the ground-truth mask '{mask}' of '{f}' is missing.", mask);
                }
                rows.Add((f, anomalous, mask));
            }
        }
        return rows;
    }

    private static List<(string, bool, string)> Folder(string root, DataSplit split)
    {
        var rows = new List<(string, bool, string)>();
        if (split == DataSplit.Train)
        {
            foreach (var f in Images(Path.Combine(root, "normal"))) rows.Add((f, false, ""));
            return rows;
        }
        foreach (var f in Images(Path.Combine(root, "normal_test"))) rows.Add((f, false, ""));
        string maskDir = Path.Combine(root, "mask");
        foreach (var f in Images(Path.Combine(root, "abnormal")))
        {
            string stem = Path.GetFileNameWithoutExtension(f);
            string mask = new[] { Path.GetFileName(f), stem + ".png", stem + "_mask.png" }.Select(n => Path.Combine(maskDir, n)).FirstOrDefault(File.Exists) ?? "";
            rows.Add((f, true, mask));
        }
        return rows;
    }

    private static List<(string, bool, string)> Mtd(string root, DataSplit split)
    {
        var rows = new List<(string, bool, string)>();
        string want = split == DataSplit.Train ? "train" : "test";
        int line = 0;
        foreach (var raw in File.ReadLines(Path.Combine(root, "split.txt")))
        {
            line++;
            if (raw.Length == 0 || raw[0] == '#') continue;
            var parts = raw.Split('\t');
            if (parts.Length != 3) throw new InvalidDataException($"'{Path.Combine(root, "split.txt")}', line {line}: expected 'split<TAB>class<TAB>stem'.");
            if (parts[0] != want) continue;
            string dir = Path.Combine(root, "MT_" + parts[1], "Imgs");
            string image = Path.Combine(dir, parts[2] + ".jpg");
            bool anomalous = parts[1] != "Free";
            rows.Add((image, anomalous, anomalous ? Path.Combine(dir, parts[2] + ".png") : ""));
        }
        return rows;
    }
}
