using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Imaging;
using SkiaSharp;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>The evaluators on hand cases whose metrics can be counted by hand; ground truth from 2×2 mask files.</summary>
public sealed class EvaluatorTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "uflow-eval-" + Guid.NewGuid().ToString("N"));
    private readonly MLContext _ml = new(seed: 0);

    public EvaluatorTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private sealed class Row
    {
        public string DefectType { get; set; } = "";
        public float Label { get; set; }
        public float Score { get; set; }
        public bool PredictedLabel { get; set; }
        [VectorType(4)] public float[] AnomalyMap { get; set; } = [];
        [VectorType(4)] public bool[] SegmentationMask { get; set; } = [];
        public string MaskPath { get; set; } = "";
    }

    private Row Make(string type, bool anomalous, float score, bool flagged, float[] map, int[] mask, int[] truth)
    {
        string path = "";
        if (truth.Any(t => t != 0))
        {
            using var image = new SKBitmap(new SKImageInfo(2, 2, SKColorType.Gray8, SKAlphaType.Opaque));
            for (int i = 0; i < 4; i++) image.GetPixelSpan()[i] = (byte)(truth[i] * 255);
            path = Path.Combine(_folder, Guid.NewGuid().ToString("N") + "_mask.png");
            PngEncoder.Save(image, path);
        }
        return new Row
        {
            DefectType = type, Label = anomalous ? 1 : 0, Score = score, PredictedLabel = flagged, AnomalyMap = map,
            SegmentationMask = mask.Select(m => m != 0).ToArray(), MaskPath = path,
        };
    }

    [Fact]
    public void Segmentation_metrics_on_a_hand_case()
    {
        var data = _ml.Data.LoadFromEnumerable(new[]
        {
            Make("broken", true, 0.9f, true, [0.9f, 0.1f, 0.2f, 0.3f], [1, 0, 0, 0], [1, 0, 0, 0]),   // perfect map and mask, IoU 1
            Make("good", false, 0.4f, true, [0.4f, 0.1f, 0.1f, 0.1f], [0, 1, 0, 0], [0, 0, 0, 0]),    // a false alarm: IoU ≈ 0
            Make("good", false, 0.2f, false, [0.2f, 0.1f, 0.1f, 0.1f], [0, 0, 0, 0], [0, 0, 0, 0]),   // clean normal image: IoU 1
        });
        var m = _ml.AnomalyDetection.EvaluateSegmentation(data);
        Assert.Equal(1.0, m.PixelAuroc, 12);
        Assert.Equal(1.0, m.F1MaxPixel, 12);
        Assert.Equal(2.0 / 3.0, m.MeanIouAtNfa, 6);
        Assert.Equal(1, m.FalseAlarmImages);
        Assert.Equal(3, m.ImageCount);
        Assert.Equal(1, m.RegionCount);
        Assert.Equal(1, m.AnomalousPixelCount);
    }

    [Fact]
    public void By_defect_type_uses_the_predicted_labels_and_masks()
    {
        var data = _ml.Data.LoadFromEnumerable(new[]
        {
            Make("good", false, 0.2f, false, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]),
            Make("good", false, 0.6f, true, [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]),
            Make("scratch", true, 0.9f, true, [0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0]),   // IoU 1/2
            Make("hole", true, 0.4f, false, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]),     // missed
        });
        var m = _ml.AnomalyDetection.EvaluateByDefectType(data);
        Assert.Equal(["good", "hole", "scratch"], m.Select(t => t.DefectType));
        Assert.Equal([1, 0, 1], m.Select(t => t.FlaggedImageCount!.Value));
        Assert.Equal([1, 0, 1], m.Select(t => t.Segmentation!.ImagesWithDetection));
        Assert.Equal(0.5, m[1].ImageAuroc, 12); // 0.4: above 0.2, below 0.6
        Assert.Equal(1.0, m[2].ImageAuroc, 12);
        Assert.Equal(0.5, m[2].Segmentation!.MeanIou, 12);
        Assert.Equal(1.0, m[2].Segmentation!.Precision, 12);
        Assert.Equal(0.5, m[2].Segmentation!.Recall, 12);
        // The mIoU of the whole set is the image-weighted mean of the types'.
        var whole = _ml.AnomalyDetection.EvaluateSegmentation(data);
        Assert.Equal(whole.MeanIouAtNfa, m.Sum(t => t.Segmentation!.MeanIou * t.ImageCount) / 4, 12);
    }

    [Fact]
    public void Ml_nets_own_evaluator_reads_the_score_and_label_columns()
    {
        var data = _ml.Data.LoadFromEnumerable(new[]
        {
            Make("good", false, 0.1f, false, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]),
            Make("good", false, 0.5f, false, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]),
            Make("dent", true, 0.6f, true, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]),
            Make("dent", true, 0.9f, true, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]),
        });
        AnomalyDetectionMetrics m = _ml.AnomalyDetection.Evaluate(data);
        Assert.Equal(1.0, m.AreaUnderRocCurve, 12);
    }

    [Fact]
    public void Missing_and_misnamed_columns_are_named()
    {
        var data = _ml.Data.LoadFromEnumerable(new[] { Make("good", false, 0.1f, false, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]) });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ml.AnomalyDetection.EvaluateSegmentation(data, anomalyMapColumnName: "Map"));
        Assert.Contains("'Map'", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => _ml.AnomalyDetection.EvaluateByDefectType(data, predictedLabelColumnName: "Flagg"));
        Assert.Contains("'Flagg'", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => _ml.AnomalyDetection.EvaluateByDefectType(data, scoreColumnName: AnomalyColumns.DefectType));
        Assert.Contains("Schema mismatch", e.Message);
        // Without the optional columns under their default names, only the image metrics are computed.
        var bare = _ml.Transforms.SelectColumns("DefectType", "Label", "Score").Fit(data).Transform(data);
        Assert.All(_ml.AnomalyDetection.EvaluateByDefectType(bare), t => Assert.Null(t.Segmentation));
    }
}
