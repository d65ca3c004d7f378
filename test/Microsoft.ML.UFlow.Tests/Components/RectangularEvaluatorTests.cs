using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Imaging;
using SkiaSharp;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>
/// Pixel metrics on a grid of the image's aspect: 2 rows of 3 maps against 3-wide, 2-high mask files, where a transposed
/// or squared grid would pair the wrong pixels.
/// </summary>
public sealed class RectangularEvaluatorTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("uflow-rect-eval-").FullName;
    private readonly MLContext _ml = new(seed: 0);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private sealed class Row
    {
        public string DefectType { get; set; } = "";
        public float Label { get; set; }
        public float Score { get; set; }
        [VectorType(2, 3)] public float[] AnomalyMap { get; set; } = [];
        [VectorType] public bool[] SegmentationMask { get; set; } = [];
        public string MaskPath { get; set; } = "";
    }

    // A 3-wide, 2-high mask file with the given row-major pixels set.
    private string Mask(params int[] set)
    {
        using var image = new SKBitmap(new SKImageInfo(3, 2, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = image.GetPixelSpan();
        for (int y = 0; y < 2; y++) for (int x = 0; x < 3; x++) pixels[y * image.RowBytes + x] = set.Contains(y * 3 + x) ? (byte)255 : (byte)0;
        string path = Path.Combine(_folder, Guid.NewGuid().ToString("N") + "_mask.png");
        PngEncoder.Save(image, path);
        return path;
    }

    private IDataView Data() => _ml.Data.LoadFromEnumerable(new[]
    {
        // The defect is the top-right pixel (row 0, column 2) and the bottom-left one (row 1, column 0).
        new Row { DefectType = "scratch", Label = 1, Score = 0.9f, AnomalyMap = [0.1f, 0.2f, 0.9f, 0.8f, 0.1f, 0.2f],
            SegmentationMask = [false, false, true, false, false, false], MaskPath = Mask(2, 3) },
        new Row { DefectType = "good", Label = 0, Score = 0.3f, AnomalyMap = [0.3f, 0.1f, 0.2f, 0.1f, 0.3f, 0.1f],
            SegmentationMask = new bool[6], MaskPath = "" },
    });

    [Fact]
    public void Pixel_metrics_pair_each_map_pixel_with_the_mask_pixel_of_the_same_row_and_column()
    {
        var m = _ml.AnomalyDetection.EvaluateSegmentation(Data(), inputWidth: 3, inputHeight: 2);
        Assert.Equal(1.0, m.PixelAuroc, 12);   // the two defect pixels have the two highest values
        Assert.Equal(2, m.AnomalousPixelCount);
        Assert.Equal(2, m.RegionCount);         // (0,2) and (1,0) do not touch, even 8-connected
        Assert.Equal((0.5 + 1.0) / 2, m.MeanIouAtNfa, 6); // 1 of 2 defect pixels found; the normal image is clean

        // The map column declares its 2x3 grid, so the data's input size is not needed either.
        Assert.Equal(1.0, _ml.AnomalyDetection.EvaluateSegmentation(Data()).PixelAuroc, 12);
    }

    [Fact]
    public void By_defect_type_finds_the_grid_of_an_unsized_mask_from_the_input_aspect_or_says_it_cannot()
    {
        var byType = _ml.AnomalyDetection.EvaluateByDefectType(Data(), inputWidth: 3, inputHeight: 2);
        Assert.Equal(["good", "scratch"], byType.Select(t => t.DefectType));
        Assert.Equal(0.5, byType[1].Segmentation!.MeanIou, 12);

        // Without the input size a 6-value mask is no square: a clear message, not a silent squash.
        var error = Assert.Throws<ArgumentException>(() => _ml.AnomalyDetection.EvaluateByDefectType(Data()));
        Assert.Contains("SegmentationMask", error.Message);
        Assert.Contains("input width and height", error.Message);
    }
}
