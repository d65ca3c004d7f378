using Microsoft.ML.UFlow.Data;

namespace Microsoft.ML.UFlow.Tests.Data;

/// <summary>The three layouts on small synthetic trees: pairing, labels, order, and the errors for bad trees.</summary>
public sealed class DatasetReaderTests
{
    private static TempTree MvtecTree()
    {
        var t = new TempTree();
        t.File("cat/train/good/000.png");
        t.File("cat/train/good/001.png");
        t.File("cat/train/good/notes.txt"); // not an image: ignored
        t.File("cat/test/good/000.png");
        t.File("cat/test/crack/000.png");
        t.File("cat/test/crack/001.png");
        t.File("cat/ground_truth/crack/000_mask.png");
        t.File("cat/ground_truth/crack/001_mask.png");
        return t;
    }

    [Fact]
    public void MvtecCategoryPairsMasksAndLabels()
    {
        using var t = MvtecTree();
        var ds = MvtecAdReader.Open(t.Path_("cat"));
        Assert.Equal("cat", ds.Name);
        Assert.Equal(DatasetLayout.MvtecAd, ds.Layout);
        Assert.Equal(2, ds.Train.Count());
        Assert.All(ds.Train, i => Assert.False(i.IsAnomalous));
        var test = ds.Test.ToList();
        Assert.Equal(["crack", "crack", "good"], test.Select(i => i.DefectType));
        Assert.Equal(t.Path_("cat/ground_truth/crack/001_mask.png"), test[1].MaskPath);
        Assert.True(test[0].IsAnomalous);
        Assert.Null(test[2].MaskPath);
        Assert.Equal("001", test[1].Stem);
        Assert.Same(ds.Layout.GetType(), DatasetReader.Open(t.Path_("cat")).Layout.GetType());
    }

    [Fact]
    public void MissingMaskIsNamed()
    {
        using var t = MvtecTree();
        File.Delete(t.Path_("cat/ground_truth/crack/001_mask.png"));
        var ex = Assert.Throws<FileNotFoundException>(() => MvtecAdReader.Open(t.Path_("cat")));
        Assert.Contains("001_mask.png", ex.Message);
        Assert.Contains(Path.Combine("test", "crack", "001.png"), ex.Message);
    }

    [Fact]
    public void EmptyTrainingFolderIsNamed()
    {
        using var t = MvtecTree();
        foreach (var f in Directory.GetFiles(t.Path_("cat/train/good"), "*.png")) File.Delete(f);
        var ex = Assert.Throws<InvalidDataException>(() => MvtecAdReader.Open(t.Path_("cat")));
        Assert.Contains(t.Path_("cat/train/good"), ex.Message);
        Assert.Contains("no image files", ex.Message);
    }

    [Fact]
    public void UnreadableFilesAreNamedWhenEnumerated()
    {
        using var t = MvtecTree();
        // A dangling link is listed like a file but cannot be opened (root can read any permission bits, so no chmod).
        string broken = t.Path_("cat/train/good/002.png");
        File.CreateSymbolicLink(broken, t.Path_("cat/nowhere.png"));
        var ds = MvtecAdReader.Open(t.Path_("cat")); // opening only lists names
        using var e = ds.Train.GetEnumerator();
        Assert.True(e.MoveNext());
        Assert.True(e.MoveNext());
        var ex = Assert.Throws<IOException>(() => e.MoveNext());
        Assert.Contains(broken, ex.Message);
        Assert.Contains("image", ex.Message);

        File.Delete(broken);
        File.WriteAllBytes(t.Path_("cat/ground_truth/crack/000_mask.png"), []);
        ex = Assert.Throws<IOException>(() => MvtecAdReader.Open(t.Path_("cat")).Validate());
        Assert.Contains("000_mask.png", ex.Message);
        Assert.Contains("empty", ex.Message);
    }

    [Fact]
    public void MissingFolderIsNamed()
    {
        using var t = new TempTree();
        var ex = Assert.Throws<DirectoryNotFoundException>(() => MvtecAdReader.Open(t.Path_("nope")));
        Assert.Contains(t.Path_("nope"), ex.Message);
        Assert.Throws<DirectoryNotFoundException>(() => DatasetReader.Open(t.Path_("nope")));
        var ex2 = Assert.Throws<InvalidDataException>(() => DatasetReader.Open(t.Root));
        Assert.Contains("no known data set layout", ex2.Message);
    }

    [Fact]
    public void FolderLayoutMatchesMasksByStemAndSplitsNormals()
    {
        using var t = new TempTree();
        for (int i = 0; i < 10; i++) t.File($"d/normal/n{i}.png");
        t.File("d/abnormal/a0.png");
        t.File("d/abnormal/a1.jpg");
        t.File("d/abnormal/scratch/s0.bmp");
        t.File("d/mask/a0.png");
        t.File("d/mask/a1_mask.png");
        t.File("d/mask/scratch/s0.png");
        var ds = FolderDatasetReader.Open(new FolderDatasetOptions
        {
            Root = t.Path_("d"), NormalDirectory = "normal", AbnormalDirectory = "abnormal", MaskDirectory = "mask", Seed = 3,
        });
        Assert.Equal("d", ds.Name);
        Assert.Equal(8, ds.TrainCount); // 20 % of 10 held out
        var test = ds.Test.ToList();
        Assert.Equal(5, test.Count);
        Assert.Equal(2, test.Count(i => !i.IsAnomalous));
        var anomalous = test.Where(i => i.IsAnomalous).ToList();
        Assert.Equal([t.Path_("d/mask/a0.png"), t.Path_("d/mask/a1_mask.png"), t.Path_("d/mask/scratch/s0.png")], anomalous.Select(i => i.MaskPath));
        Assert.Equal(["abnormal", "abnormal", "scratch"], anomalous.Select(i => i.DefectType));
        // Train and held-out normals are disjoint and cover the folder; the split is seeded.
        Assert.Equal(10, ds.Train.Concat(test.Where(i => !i.IsAnomalous)).Select(i => i.ImagePath).Distinct().Count());
        var again = FolderDatasetReader.Open(new FolderDatasetOptions { Root = t.Path_("d"), NormalDirectory = "normal", AbnormalDirectory = "abnormal", MaskDirectory = "mask", Seed = 3 });
        Assert.Equal(ds.Train.Select(i => i.ImagePath), again.Train.Select(i => i.ImagePath));

        // Auto-detection finds the same layout.
        var auto = DatasetReader.Open(t.Path_("d"));
        Assert.Equal(DatasetLayout.Folder, auto.Layout);
        Assert.Equal(3, auto.Test.Count(i => i.MaskPath is not null));

        File.Delete(t.Path_("d/mask/a1_mask.png"));
        var ex = Assert.Throws<FileNotFoundException>(() => DatasetReader.Open(t.Path_("d")));
        Assert.Contains("a1.jpg", ex.Message);
        Assert.Contains("a1_mask", ex.Message);
    }

    [Fact]
    public void FolderLayoutWithNormalTestFolderAndNoMasks()
    {
        using var t = new TempTree();
        t.File("d/good/n0.png");
        t.File("d/good/n1.png");
        t.File("d/good_test/t0.png");
        t.File("d/bad/b0.png");
        var ds = DatasetReader.Open(t.Path_("d"));
        Assert.Equal(2, ds.TrainCount);
        Assert.Equal(["t0", "b0"], ds.Test.Select(i => i.Stem));
        Assert.All(ds.Test, i => Assert.Null(i.MaskPath));
        t.Dir("d/empty");
        var ex = Assert.Throws<InvalidDataException>(() => FolderDatasetReader.Open(new FolderDatasetOptions { Root = t.Path_("d"), NormalDirectory = "empty" }));
        Assert.Contains(t.Path_("d/empty"), ex.Message);
    }

    [Fact]
    public void MtdSplitFileIsParsedAndValidated()
    {
        using var t = new TempTree();
        t.File("m/MT_Free/Imgs/f0.jpg");
        t.File("m/MT_Free/Imgs/f1.jpg");
        t.File("m/MT_Crack/Imgs/c0.jpg");
        t.File("m/MT_Crack/Imgs/c0.png");
        t.File("m/split.txt", "# comment\ntrain\tFree\tf0\ntest\tFree\tf1\n\ntest\tCrack\tc0\n");
        var ds = DatasetReader.Open(t.Path_("m"));
        Assert.Equal(DatasetLayout.Mtd, ds.Layout);
        Assert.Equal(["f0"], ds.Train.Select(i => i.Stem));
        var test = ds.Test.ToList();
        Assert.Equal([false, true], test.Select(i => i.IsAnomalous));
        Assert.Equal(t.Path_("m/MT_Crack/Imgs/c0.png"), test[1].MaskPath);
        Assert.Equal("Crack", test[1].DefectType);

        File.Delete(t.Path_("m/MT_Crack/Imgs/c0.png"));
        var ex = Assert.Throws<FileNotFoundException>(() => MtdReader.Open(t.Path_("m")));
        Assert.Contains("c0.png", ex.Message);
        Assert.Contains("split.txt:5", ex.Message);

        t.File("m/split.txt", "train\tFree\n");
        var bad = Assert.Throws<InvalidDataException>(() => MtdReader.Open(t.Path_("m")));
        Assert.Contains("split.txt:1", bad.Message);
        t.File("m/split.txt", "train\tCrack\tc0\n");
        Assert.Throws<InvalidDataException>(() => MtdReader.Open(t.Path_("m")));
    }
}
