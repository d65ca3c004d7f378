namespace Microsoft.ML.UFlow.Data;

/// <summary>Reads the plain folder layout described by <see cref="FolderDatasetOptions"/>.</summary>
public static class FolderDatasetReader
{
    /// <summary>Defect type given to normal images.</summary>
    public const string NormalType = "good";

    /// <summary>Opens the folders.</summary>
    /// <exception cref="ArgumentException">Options are inconsistent (no normal folder, ratio outside [0, 1)).</exception>
    /// <exception cref="DirectoryNotFoundException">A named folder does not exist.</exception>
    /// <exception cref="InvalidDataException">A named folder holds no images.</exception>
    /// <exception cref="FileNotFoundException">A mask folder is set and an anomalous image has no mask (the message names the image and where the mask was looked for).</exception>
    public static AnomalyDataset Open(FolderDatasetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.NormalDirectory)) throw new ArgumentException("A normal-image folder is required.", nameof(options));
        if (!(options.NormalSplitRatio >= 0 && options.NormalSplitRatio < 1)) throw new ArgumentException($"NormalSplitRatio {options.NormalSplitRatio} must be in [0, 1).", nameof(options));

        string Resolve(string p) => Path.GetFullPath(options.Root is null ? p : Path.Combine(options.Root, p));
        string normalDir = Resolve(options.NormalDirectory);
        var normals = DatasetFiles.ListImagesRequired(normalDir, "normal");

        var train = new List<DatasetItem>();
        var test = new List<DatasetItem>();
        if (options.NormalTestDirectory is not null)
        {
            train.AddRange(normals.Select(p => new DatasetItem(p, false, NormalType, null)));
            test.AddRange(DatasetFiles.ListImagesRequired(Resolve(options.NormalTestDirectory), "normal test").Select(p => new DatasetItem(p, false, NormalType, null)));
        }
        else
        {
            int held = Math.Min((int)Math.Round(options.NormalSplitRatio * normals.Count), normals.Count - 1);
            var permutation = new SeededRandom(options.Seed).Permutation(normals.Count);
            var heldOut = new bool[normals.Count];
            for (int i = 0; i < held; i++) heldOut[permutation[i]] = true;
            for (int i = 0; i < normals.Count; i++)
            {
                (heldOut[i] ? test : train).Add(new DatasetItem(normals[i], false, NormalType, null));
            }
        }

        if (options.AbnormalDirectory is not null)
        {
            string abnormalDir = Resolve(options.AbnormalDirectory);
            DatasetFiles.RequireDirectory(abnormalDir, "abnormal");
            string? maskDir = options.MaskDirectory is null ? null : Resolve(options.MaskDirectory);
            if (maskDir is not null) DatasetFiles.RequireDirectory(maskDir, "mask");
            int before = test.Count;
            AddAbnormal(test, DatasetFiles.ListImages(abnormalDir), Path.GetFileName(abnormalDir), maskDir, null);
            foreach (string sub in DatasetFiles.ListSubdirectories(abnormalDir))
            {
                string type = Path.GetFileName(sub);
                AddAbnormal(test, DatasetFiles.ListImages(sub), type, maskDir, maskDir is null ? null : Path.Combine(maskDir, type));
            }
            if (test.Count == before) throw new InvalidDataException($"The abnormal folder '{abnormalDir}' contains no image files ({string.Join(", ", DatasetFiles.ImageExtensions)}), directly or in its subfolders.");
        }
        else if (options.MaskDirectory is not null)
        {
            throw new ArgumentException("A mask folder was given without an abnormal folder.", nameof(options));
        }

        string name = options.Name ?? Path.GetFileName(options.Root is null ? Path.GetDirectoryName(normalDir)! : Path.GetFullPath(options.Root).TrimEnd(Path.DirectorySeparatorChar));
        string root = options.Root is null ? Path.GetDirectoryName(normalDir)! : Path.GetFullPath(options.Root);
        return new AnomalyDataset(name, root, DatasetLayout.Folder, train, test);
    }

    private static void AddAbnormal(List<DatasetItem> test, List<string> images, string type, string? maskDir, string? typeMaskDir)
    {
        foreach (string image in images)
        {
            string? mask = null;
            if (maskDir is not null)
            {
                string stem = Path.GetFileNameWithoutExtension(image);
                mask = (typeMaskDir is null ? null : FindMask(typeMaskDir, stem)) ?? FindMask(maskDir, stem);
                if (mask is null)
                {
                    string where = typeMaskDir is null ? $"'{maskDir}'" : $"'{typeMaskDir}' or '{maskDir}'";
                    throw new FileNotFoundException($"Missing mask for the anomalous image '{image}': no '{stem}.<ext>' or '{stem}_mask.<ext>' in {where}.", Path.Combine(maskDir, stem + ".png"));
                }
            }
            test.Add(new DatasetItem(image, true, type, mask));
        }
    }

    private static string? FindMask(string directory, string stem)
    {
        if (!Directory.Exists(directory)) return null;
        foreach (string name in new[] { stem, stem + "_mask" })
        {
            foreach (string ext in DatasetFiles.ImageExtensions)
            {
                string candidate = Path.Combine(directory, name + ext);
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }
}
