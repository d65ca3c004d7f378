using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Imaging;

public class ImagePreprocessingTests
{
    /// <summary>The one-call pre-processing equals decode → PIL-exact resize (golden-checked) → torch-exact normalisation,
    /// and a grey file gives the same tensor as its RGB conversion.</summary>
    [SharedDataFact]
    public void LoadImageComposesTheCheckedSteps()
    {
        string png = SharedData.File("data", "mvtec_ad", "bottle", "test", "broken_large", "000.png")!;
        Tensor t = ImagePreprocessing.LoadImage(png);
        Assert.Equal(new[] { 1, 3, 448, 448 }, t.Shape.ToArray());
        Tensor expected = ImageNormalization.ToTensor(ImageResize.Bilinear(ImageDecoder.Decode(png), 448, 448));
        Assert.Equal(expected.Span.ToArray(), t.Span.ToArray());

        var lines = ImagingFixtures.RealTsv("real_decode.tsv");
        string jpg = Path.Combine(SharedData.Root!, "data", lines.First(l => l.Path.EndsWith(".jpg", StringComparison.Ordinal)).Path);
        var batch = new Tensor(2, 3, 256, 256);
        ImagePreprocessing.LoadImageInto(jpg, batch, 1);
        Image decoded = ImageDecoder.Decode(jpg); // grey JPEG: decoded to RGB with R = G = B
        Tensor viaRgb = ImageNormalization.ToTensor(ImageResize.Bilinear(decoded.ToGrey().ToRgb(), 256, 256));
        Assert.Equal(viaRgb.Span.ToArray(), batch.Sample(1).ToArray());
    }

    [SharedDataFact]
    public void LoadMaskIsInUnitRangeAndKeepsTheDefect()
    {
        string path = SharedData.File("data", "mvtec_ad", "bottle", "ground_truth", "broken_large", "000_mask.png")!;
        float[] m = ImagePreprocessing.LoadMask(path, out int w, out int h);
        Assert.Equal((448, 448), (w, h));
        Assert.All(m, v => Assert.InRange(v, 0f, 1f));
        Image original = ImageDecoder.Decode(path);
        double originalFraction = original.Pixels.Count(b => b > 127) / (double)original.Pixels.Length;
        double resizedFraction = m.Count(v => v > 0.5f) / (double)m.Length;
        Assert.True(originalFraction > 0.01);
        Assert.InRange(resizedFraction, originalFraction * 0.95, originalFraction * 1.05);
    }
}
