using Microsoft.ML.UFlow.Metrics;

namespace Microsoft.ML.UFlow.Tests.Metrics;

public sealed class DefectTypeBreakdownTests
{
    // 2×2 masks, row-major. Ground truth of the defective images: the top row.
    private static readonly float[] s_topRow = [1, 1, 0, 0];
    private static readonly float[] s_clean = [0, 0, 0, 0];

    [Fact]
    public void EachTypeIsRankedAgainstAllNormalImagesAndOverlapsArePooledPerType()
    {
        var b = new DefectTypeBreakdown();
        b.Add("good", false, 0.1, flagged: false, [false, false, false, false], s_clean);
        b.Add("good", false, 0.4, flagged: true, [false, false, false, true], s_clean);  // a false alarm
        b.Add("crack", true, 0.5, flagged: true, [true, true, false, false], s_topRow); // IoU 1
        b.Add("crack", true, 0.3, flagged: false, [true, false, true, false], s_topRow); // ∩ 1, ∪ 3: IoU 1/3
        b.Add("blob", true, 0.2, flagged: false, [false, false, false, false], s_topRow); // missed: IoU 0

        var m = b.Compute();
        Assert.Equal(["good", "blob", "crack"], m.Select(t => t.DefectType));

        DefectTypeMetrics good = m[0];
        Assert.False(good.IsAnomalous);
        Assert.Equal(2, good.ImageCount);
        Assert.True(double.IsNaN(good.ImageAuroc));
        Assert.Equal(1, good.FlaggedImageCount);
        Assert.Equal(1, good.Segmentation!.ImagesWithDetection);
        Assert.Equal(0.5, good.Segmentation.MeanIou, 12);   // (1 + ~0) / 2
        Assert.Equal(0.0, good.Segmentation.Precision, 12); // 1 predicted pixel, none true
        Assert.True(double.IsNaN(good.Segmentation.Recall));

        // crack against the normals 0.1 and 0.4: (0.5 > both) + (0.3 > 0.1, < 0.4) = 3 of 4 pairs.
        DefectTypeMetrics crack = m[2];
        Assert.Equal(0.75, crack.ImageAuroc, 12);
        Assert.Equal(1, crack.FlaggedImageCount);
        Assert.Equal(2, crack.Segmentation!.ImagesWithDetection);
        Assert.Equal((1 + 1.0 / 3) / 2, crack.Segmentation.MeanIou, 12);
        Assert.Equal(3.0 / 4, crack.Segmentation.Precision, 12); // pooled: ∩ 2+1 over predicted 2+2
        Assert.Equal(3.0 / 4, crack.Segmentation.Recall, 12);    // over ground truth 2+2

        // blob 0.2 against 0.1 and 0.4: one pair of two.
        DefectTypeMetrics blob = m[1];
        Assert.Equal(0.5, blob.ImageAuroc, 12);
        Assert.Equal(0, blob.Segmentation!.ImagesWithDetection);
        Assert.Equal(0.0, blob.Segmentation.MeanIou, 12);
        Assert.True(double.IsNaN(blob.Segmentation.Precision));
        Assert.Equal(0.0, blob.Segmentation.Recall, 12);
    }

    [Fact]
    public void TheGroupsAddUpToTheWholeTestSet()
    {
        // Image-weighted per-type mIoU = the overall U-Flow mIoU; one defect type's AUROC = the overall AUROC.
        var random = new Random(7);
        var b = new DefectTypeBreakdown();
        var all = new MeanIouAccumulator();
        var images = new ImageScoreEvaluator();
        for (int i = 0; i < 40; i++)
        {
            bool anomalous = i % 3 != 0;
            bool[] predicted = Enumerable.Range(0, 16).Select(_ => random.NextDouble() < 0.3).ToArray();
            float[] truth = Enumerable.Range(0, 16).Select(_ => anomalous && random.NextDouble() < 0.4 ? 1f : 0f).ToArray();
            double score = random.NextDouble() + (anomalous ? 0.3 : 0);
            b.Add(anomalous ? "scratch" : "good", anomalous, score, flagged: null, predicted, truth);
            all.Add(predicted, truth);
            images.Add(score, anomalous);
        }
        var m = b.Compute();
        Assert.Equal(40, m.Sum(t => t.ImageCount));
        Assert.Equal(all.Mean, m.Sum(t => t.Segmentation!.MeanIou * t.ImageCount) / 40, 12);
        Assert.Equal(images.ComputeAuroc(), m.Single(t => t.IsAnomalous).ImageAuroc, 12);
        Assert.All(m, t => Assert.Null(t.FlaggedImageCount));
    }

    [Fact]
    public void WithoutMasksThereIsNoSegmentationAndMixingIsRefused()
    {
        var b = new DefectTypeBreakdown();
        b.Add("good", false, 0.1);
        b.Add("dent", true, 0.9);
        var m = b.Compute();
        Assert.All(m, t => Assert.Null(t.Segmentation));
        Assert.Equal(1.0, m[1].ImageAuroc, 12);

        var e = Assert.Throws<InvalidOperationException>(() => b.Add("dent", true, 0.8, flagged: true));
        Assert.Contains("predicted label", e.Message);
        Assert.Throws<InvalidOperationException>(() => b.Add("dent", true, 0.8, null, [true], [1f]));
        Assert.Throws<ArgumentException>(() => b.Add("dent", true, double.NaN));
        Assert.Equal(2, b.Count); // the refused images were not counted
        var masked = new DefectTypeBreakdown();
        Assert.Throws<ArgumentException>(() => masked.Add("dent", true, 0.5, null, [true, false], [1f]));
        Assert.Empty(masked.Compute()); // nothing kept from the image with mismatched masks
    }

    [Fact]
    public void SegmentationOverlapPoolsPixelsAndAveragesImages()
    {
        var o = new SegmentationOverlap();
        Assert.True(double.IsNaN(o.MeanIou));
        o.Add([true, true, false, false], s_topRow);   // ∩ 2, ∪ 2
        o.Add([false, false, false, true], s_topRow);  // ∩ 0, ∪ 3
        o.Add([false, false, false, false], s_clean);  // empty and empty: IoU 1
        Assert.Equal(3, o.Count);
        Assert.Equal(2, o.ImagesWithDetection);
        Assert.Equal((1 + 0 + 1) / 3.0, o.MeanIou, 12);
        Assert.Equal(2.0 / 3, o.Precision, 12); // pooled: ∩ 2 over predicted 3
        Assert.Equal(2.0 / 4, o.Recall, 12);    // over ground truth 4
        Assert.Throws<ArgumentException>(() => o.Add([true], s_topRow));
        Assert.Equal(3, o.Count);
    }
}
