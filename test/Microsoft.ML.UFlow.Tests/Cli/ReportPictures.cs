using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tests.Imaging;
using SkiaSharp;

namespace Microsoft.ML.UFlow.Tests.Cli;

/// <summary>Checks the report's and predict's PNG files against the numbers they draw, pixel by pixel.</summary>
internal static class ReportPictures
{
    /// <summary>The contour figure is the background with the 2-pixel inner band of <paramref name="mask"/> in <paramref name="colour"/>.</summary>
    public static void AssertContour(string backgroundPng, string figurePng, bool[] mask, SKColor colour)
    {
        Image background = ImageDecoder.Decode(backgroundPng), figure = ImageDecoder.Decode(figurePng);
        int size = Side(background, figure, mask.Length);
        bool[] band = ContourReference.Band(mask, size, size, 2);
        for (int i = 0; i < band.Length; i++)
        {
            var expected = band[i] ? (colour.Red, colour.Green, colour.Blue) : Rgb(background, i);
            Assert.True(expected == Rgb(figure, i), $"{Path.GetFileName(figurePng)} ({i % size}, {i / size}): {Rgb(figure, i)}, expected {expected}");
        }
    }

    /// <summary>
    /// The heat-map figure is the jet entry of every map value (range [0, <paramref name="max"/>], else [0, map maximum])
    /// blended 50/50 over the background, within one level; where <paramref name="contour"/> is given, its 2-pixel inner
    /// band is drawn over that in <paramref name="colour"/>.
    /// </summary>
    public static void AssertHeatMap(string backgroundPng, string figurePng, float[] map, float? max, bool[]? contour = null, SKColor colour = default)
    {
        Image background = ImageDecoder.Decode(backgroundPng), figure = ImageDecoder.Decode(figurePng);
        int size = Side(background, figure, map.Length);
        bool[] band = contour is null ? new bool[map.Length] : ContourReference.Band(contour, size, size, 2);
        float top = max ?? map.Where(float.IsFinite).DefaultIfEmpty(0f).Max();
        double scale = top > 0 ? 256.0 / top : 0;
        const double Alpha = 128 / 255.0; // 0.5 as the paint's byte alpha
        for (int i = 0; i < map.Length; i++)
        {
            var actual = Rgb(figure, i);
            if (band[i])
            {
                Assert.True((colour.Red, colour.Green, colour.Blue) == actual, $"{Path.GetFileName(figurePng)} ({i % size}, {i / size}): {actual}, expected the contour");
                continue;
            }
            double t = map[i] * scale;
            var jet = ColorMap.Jet[double.IsNaN(t) || t <= 0 ? 0 : t >= 255 ? 255 : (int)t];
            var under = Rgb(background, i);
            double r = (1 - Alpha) * under.R + Alpha * jet.R, g = (1 - Alpha) * under.G + Alpha * jet.G, b = (1 - Alpha) * under.B + Alpha * jet.B;
            Assert.True(Math.Abs(actual.R - r) <= 1 && Math.Abs(actual.G - g) <= 1 && Math.Abs(actual.B - b) <= 1,
                $"{Path.GetFileName(figurePng)} ({i % size}, {i / size}): {actual}, expected ({r:0.#}, {g:0.#}, {b:0.#})");
        }
    }

    /// <summary>
    /// The input picture is <paramref name="seen"/> (the model's input) scaled bilinearly to the map's size — sampled at the
    /// pixel centres, edges clamped (PyTorch align_corners=False) — within one level.
    /// </summary>
    public static void AssertScaledFrom(Image seen, string inputPng)
    {
        Image picture = ImageDecoder.Decode(inputPng);
        Assert.True(picture.Width >= seen.Width && picture.Height >= seen.Height, "the map is not smaller than the input");
        for (int y = 0; y < picture.Height; y++)
        {
            double sy = Math.Clamp((y + 0.5) * seen.Height / picture.Height - 0.5, 0, seen.Height - 1);
            int y0 = (int)sy, y1 = Math.Min(y0 + 1, seen.Height - 1);
            double fy = sy - y0;
            for (int x = 0; x < picture.Width; x++)
            {
                double sx = Math.Clamp((x + 0.5) * seen.Width / picture.Width - 0.5, 0, seen.Width - 1);
                int x0 = (int)sx, x1 = Math.Min(x0 + 1, seen.Width - 1);
                double fx = sx - x0;
                for (int c = 0; c < 3; c++)
                {
                    double top = (1 - fx) * seen.Pixels[3 * (y0 * seen.Width + x0) + c] + fx * seen.Pixels[3 * (y0 * seen.Width + x1) + c];
                    double bottom = (1 - fx) * seen.Pixels[3 * (y1 * seen.Width + x0) + c] + fx * seen.Pixels[3 * (y1 * seen.Width + x1) + c];
                    double expected = (1 - fy) * top + fy * bottom;
                    byte actual = picture.Pixels[3 * (y * picture.Width + x) + c];
                    Assert.True(Math.Abs(actual - expected) <= 1, $"{Path.GetFileName(inputPng)} ({x}, {y}) channel {c}: {actual}, expected {expected:0.#}");
                }
            }
        }
    }

    private static int Side(Image background, Image figure, int values)
    {
        int size = (int)Math.Round(Math.Sqrt(values));
        Assert.Equal((size, size), (background.Width, background.Height));
        Assert.Equal((size, size), (figure.Width, figure.Height));
        return size;
    }

    private static (byte R, byte G, byte B) Rgb(Image image, int i) => (image.Pixels[3 * i], image.Pixels[3 * i + 1], image.Pixels[3 * i + 2]);
}
