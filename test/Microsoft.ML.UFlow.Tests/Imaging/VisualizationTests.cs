using System.Text.Json;
using Microsoft.ML.UFlow.Imaging;
using SkiaSharp;

namespace Microsoft.ML.UFlow.Tests.Imaging;

/// <summary>The report's drawing (SkiaSharp): jet colours, the heat-map overlay, mask contours, and their PNG files.</summary>
public class VisualizationTests
{
    /// <summary>All 256 jet entries within one level of matplotlib 3.6's (uint8 of round(255·rgb)).</summary>
    [Fact]
    public void JetMatchesMatplotlib()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(ImagingFixtures.PathOf("jet.json")));
        byte[] expected = Convert.FromHexString(doc.RootElement.GetProperty("rgb").GetString()!);
        for (int i = 0; i < 256; i++)
        {
            var (r, g, b) = ColorMap.Jet[i];
            Assert.True(Math.Abs(r - expected[3 * i]) <= 1 && Math.Abs(g - expected[3 * i + 1]) <= 1 && Math.Abs(b - expected[3 * i + 2]) <= 1,
                $"entry {i}: ({r},{g},{b}) vs matplotlib ({expected[3 * i]},{expected[3 * i + 1]},{expected[3 * i + 2]})");
        }
    }

    [Fact]
    public void HeatMapPixelsTakeTheEntryOfTheirValueLikeMatplotlib()
    {
        // Row 0: value i + 0.5 in [0, 256] is entry i, every entry once. Row 1: NaN, below, above the range.
        var map = new float[256 * 2];
        for (int i = 0; i < 256; i++) map[i] = i + 0.5f;
        map.AsSpan(256).Fill(128.5f);
        (map[256], map[257], map[258], map[259]) = (float.NaN, -5f, 300f, 256f);
        using var bitmap = Picture(256, 2, SKColors.Gray);
        using (var canvas = new SKCanvas(bitmap)) HeatMapOverlay.Draw(canvas, new SKRect(0, 0, 256, 2), map, 256, 2, alpha: 1f, min: 0, max: 256);
        for (int i = 0; i < 256; i++) Assert.Equal(ColorMap.Jet[i], Rgb(bitmap, i, 0));
        Assert.Equal([ColorMap.Jet[0], ColorMap.Jet[0], ColorMap.Jet[255], ColorMap.Jet[255]], [Rgb(bitmap, 0, 1), Rgb(bitmap, 1, 1), Rgb(bitmap, 2, 1), Rgb(bitmap, 3, 1)]);

        // Without a range, the map's own finite one: its minimum is entry 0, its maximum entry 255; infinities are clipped.
        using var own = Picture(4, 1, SKColors.Gray);
        using (var canvas = new SKCanvas(own)) HeatMapOverlay.Draw(canvas, new SKRect(0, 0, 4, 1), [2f, 4f, float.PositiveInfinity, 3f], 4, 1, alpha: 1f);
        Assert.Equal([ColorMap.Jet[0], ColorMap.Jet[255], ColorMap.Jet[255], ColorMap.Jet[128]], [Rgb(own, 0, 0), Rgb(own, 1, 0), Rgb(own, 2, 0), Rgb(own, 3, 0)]);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.25f)]
    [InlineData(0.5f)]
    [InlineData(1f)]
    public void HeatMapBlendsOverThePictureWithItsAlpha(float alpha)
    {
        var background = new SKColor(100, 150, 200);
        float[] map = [0f, 0.25f, 0.5f, 0.75f, 1f, 0.9f];
        using var bitmap = Picture(3, 2, background);
        using (var canvas = new SKCanvas(bitmap)) HeatMapOverlay.Draw(canvas, new SKRect(0, 0, 3, 2), map, 3, 2, alpha, 0, 1);
        for (int i = 0; i < map.Length; i++)
        {
            var jet = ColorMap.Jet[Math.Min(255, (int)(256 * map[i]))];
            var (r, g, b) = Rgb(bitmap, i % 3, i / 3);
            // The paint's alpha is a byte: α = round(255·alpha)/255, then the blend is rounded.
            double a = Math.Round(255 * (double)alpha) / 255;
            Assert.InRange(r, (1 - a) * background.Red + a * jet.R - 1, (1 - a) * background.Red + a * jet.R + 1);
            Assert.InRange(g, (1 - a) * background.Green + a * jet.G - 1, (1 - a) * background.Green + a * jet.G + 1);
            Assert.InRange(b, (1 - a) * background.Blue + a * jet.B - 1, (1 - a) * background.Blue + a * jet.B + 1);
        }
    }

    [Fact]
    public void UpsampledHeatMapsColourInterpolatedValuesNotBlendedColours()
    {
        // A 2×2 map [0 1; 1 0] drawn 8×8: pixel (x, y) has the value bilinearly sampled at ((x + ½)/4 − ½, (y + ½)/4 − ½),
        // clamped at the edges (PyTorch align_corners=False), and exactly the jet colour of its entry (one level of slack for
        // the 8-bit entries being interpolated) — a blend of blue and red would be purple, which jet never is.
        using var bitmap = Picture(8, 8, SKColors.Black);
        using (var canvas = new SKCanvas(bitmap)) HeatMapOverlay.Draw(canvas, new SKRect(0, 0, 8, 8), [0f, 1f, 1f, 0f], 2, 2, alpha: 1f, min: 0, max: 1);
        for (int y = 0; y < 8; y++)
        {
            for (int x = 0; x < 8; x++)
            {
                double u = Math.Clamp((x + 0.5) / 4 - 0.5, 0, 1), v = Math.Clamp((y + 0.5) / 4 - 0.5, 0, 1);
                double level = 255 * (u * (1 - v) + (1 - u) * v); // entries 0 and 255 at the corners
                var pixel = Rgb(bitmap, x, y);
                int lo = (int)Math.Floor(level) - 1, hi = (int)Math.Ceiling(level) + 1;
                Assert.True(Enumerable.Range(Math.Max(0, lo), Math.Min(255, hi) - Math.Max(0, lo) + 1).Any(k => ColorMap.Jet[k] == pixel),
                    $"({x}, {y}): {pixel} is not jet entry {level:0.#} ± 1");
            }
        }
    }

    [Fact]
    public void HeatMapRefusesBadArguments()
    {
        using var bitmap = Picture(2, 2, SKColors.Black);
        using var canvas = new SKCanvas(bitmap);
        Assert.Throws<ArgumentException>(() => HeatMapOverlay.Draw(canvas, new SKRect(0, 0, 2, 2), [0f, 1f, 2f], 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => HeatMapOverlay.Draw(canvas, new SKRect(0, 0, 2, 2), [0f, 1f, 2f, 3f], 2, 2, alpha: 1.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => HeatMapOverlay.Draw(canvas, new SKRect(0, 0, 2, 2), [], 0, 2));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ContourOutlinesTheRegionFromInside(int thickness)
    {
        var mask = new bool[100];
        for (int y = 2; y < 8; y++) for (int x = 3; x < 9; x++) mask[y * 10 + x] = true;
        using var bitmap = Picture(10, 10, SKColors.Gray);
        using (var canvas = new SKCanvas(bitmap)) MaskContour.Draw(canvas, mask, 10, 10, SKColors.Red, thickness);
        for (int y = 0; y < 10; y++)
        {
            for (int x = 0; x < 10; x++)
            {
                bool inside = y >= 2 && y < 8 && x >= 3 && x < 9;
                int distance = Math.Min(Math.Min(y - 2, 7 - y), Math.Min(x - 3, 8 - x)); // to the region's edge
                Assert.Equal(inside && distance < thickness ? SKColors.Red : SKColors.Gray, bitmap.GetPixel(x, y));
            }
        }
    }

    /// <summary>
    /// Random blobs and noise (holes, diagonal touches, regions on the border): the pixels drawn are exactly the
    /// foreground pixels within Chebyshev distance <c>thickness</c> of a background pixel or of the outside.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ContourIsTheInnerBandOfTheMaskBoundary(int thickness)
    {
        var random = new Random(11 + thickness);
        for (int trial = 0; trial < 60; trial++)
        {
            int w = random.Next(1, 40), h = random.Next(1, 40);
            bool[] mask = trial % 2 == 0 ? Noise(random, w, h) : Blobs(random, w, h);
            using var bitmap = Picture(w, h, SKColors.Black);
            using (var canvas = new SKCanvas(bitmap)) MaskContour.Draw(canvas, mask, w, h, SKColors.Lime, thickness);
            bool[] expected = ContourReference.Band(mask, w, h, thickness);
            for (int i = 0; i < mask.Length; i++)
            {
                Assert.True((expected[i] ? SKColors.Lime : SKColors.Black) == bitmap.GetPixel(i % w, i / w),
                    $"trial {trial} ({w}x{h}), pixel ({i % w}, {i / w}): expected {(expected[i] ? "contour" : "untouched")}");
            }
        }
    }

    [Fact]
    public void ContourOfAnEmptyMaskDrawsNothingAndBadMasksAreRefused()
    {
        using var bitmap = Picture(4, 3, SKColors.Gray);
        using var canvas = new SKCanvas(bitmap);
        MaskContour.Draw(canvas, new bool[12], 4, 3, SKColors.Red);
        Assert.All(bitmap.Pixels, p => Assert.Equal(SKColors.Gray, p));
        Assert.Throws<ArgumentException>(() => MaskContour.Draw(canvas, new bool[11], 4, 3, SKColors.Red));
        Assert.Throws<ArgumentOutOfRangeException>(() => MaskContour.Draw(canvas, new bool[12], 4, 3, SKColors.Red, thickness: 0));
    }

    [Fact]
    public void DrawnFigureSavedAsPngDecodesBackToTheSamePixels()
    {
        using var figure = Picture(32, 24, new SKColor(30, 60, 90));
        var random = new Random(4);
        var map = new float[16 * 12];
        for (int i = 0; i < map.Length; i++) map[i] = (float)random.NextDouble();
        using (var canvas = new SKCanvas(figure))
        {
            HeatMapOverlay.Draw(canvas, new SKRect(0, 0, 32, 24), map, 16, 12);
            MaskContour.Draw(canvas, Blobs(random, 32, 24), 32, 24, new SKColor(255, 48, 48), 2);
        }
        string dir = Path.Combine(Path.GetTempPath(), $"uflow-figure-{Guid.NewGuid():N}");
        try
        {
            string path = Path.Combine(dir, "figure.png");
            PngEncoder.Save(figure, path); // the folder is created
            Image decoded = ImageDecoder.Decode(path);
            Assert.Equal((32, 24), (decoded.Width, decoded.Height));
            for (int y = 0; y < 24; y++)
            {
                for (int x = 0; x < 32; x++)
                {
                    int o = 3 * (y * 32 + x);
                    Assert.Equal(Rgb(figure, x, y), (decoded.Pixels[o], decoded.Pixels[o + 1], decoded.Pixels[o + 2]));
                }
            }
            Assert.Equal(["figure.png"], Directory.GetFiles(dir).Select(Path.GetFileName)); // no temporary file left
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>An opaque RGBA picture filled with <paramref name="fill"/>.</summary>
    internal static SKBitmap Picture(int width, int height, SKColor fill)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        bitmap.Erase(fill);
        return bitmap;
    }

    private static (byte, byte, byte) Rgb(SKBitmap bitmap, int x, int y)
    {
        SKColor c = bitmap.GetPixel(x, y);
        return (c.Red, c.Green, c.Blue);
    }

    private static bool[] Noise(Random random, int w, int h)
    {
        double p = random.NextDouble();
        return Enumerable.Range(0, w * h).Select(_ => random.NextDouble() < p).ToArray();
    }

    private static bool[] Blobs(Random random, int w, int h)
    {
        var mask = new bool[w * h];
        for (int blob = random.Next(1, 4); blob > 0; blob--)
        {
            int cx = random.Next(w), cy = random.Next(h), r = random.Next(1, 12);
            for (int i = 0; i < mask.Length; i++)
            {
                int dx = i % w - cx, dy = i / w - cy;
                if (dx * dx + dy * dy <= r * r) mask[i] = true;
            }
        }
        return mask;
    }
}
