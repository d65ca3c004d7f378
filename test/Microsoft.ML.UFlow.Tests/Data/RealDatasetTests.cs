using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Data;

/// <summary>The readers on the real data in ../shared (skipped with a message where it is absent).</summary>
public sealed class RealDatasetTests
{
    [SharedDataFact]
    public void BottleHasTheOfficialCounts()
    {
        var ds = DatasetReader.Open(SharedData.Bottle!);
        Assert.Equal(DatasetLayout.MvtecAd, ds.Layout);
        Assert.Equal("bottle", ds.Name);
        Assert.Equal(209, ds.Train.Count());
        var test = ds.Test.ToList(); // also opens every image and mask once
        Assert.Equal(83, test.Count);
        Assert.Equal(20, test.Count(i => !i.IsAnomalous));
        Assert.Equal(63, test.Count(i => i.MaskPath is not null));
        Assert.Equal(["broken_large", "broken_small", "contamination", "good"], test.Select(i => i.DefectType).Distinct());
        Assert.All(test.Where(i => i.IsAnomalous), i => Assert.Equal(i.Stem + "_mask.png", Path.GetFileName(i.MaskPath)));
    }

    [SharedDataFact]
    public void MtdHasTheSplitCounts()
    {
        var ds = DatasetReader.Open(SharedData.Mtd!);
        Assert.Equal(DatasetLayout.Mtd, ds.Layout);
        Assert.Equal(762, ds.Train.Count());
        var test = ds.Test.ToList();
        Assert.Equal(582, test.Count);
        Assert.Equal(190, test.Count(i => !i.IsAnomalous));
        Assert.Equal(392, test.Count(i => i.MaskPath is not null));
        Assert.Equal(["Free", "Blowhole", "Break", "Crack", "Fray", "Uneven"], test.Select(i => i.DefectType).Distinct().OrderBy(s => s == "Free" ? "" : s, StringComparer.Ordinal));
    }
}
