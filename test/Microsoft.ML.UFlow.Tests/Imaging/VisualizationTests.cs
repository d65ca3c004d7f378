using System.Text.Json;
using Microsoft.ML.UFlow.Imaging;

namespace Microsoft.ML.UFlow.Tests.Imaging;

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
    public void ApplyScalesToTheRangeLikeMatplotlib()
    {
        float[] map = [0f, 0.5f, 1f, float.NaN, 2f, -1f];
        Image img = ColorMap.Jet.Apply(map, 3, 2, min: 0, max: 1);
        Assert.Equal(ColorMap.Jet[0], Pixel(img, 0));
        Assert.Equal(ColorMap.Jet[128], Pixel(img, 1));
        Assert.Equal(ColorMap.Jet[255], Pixel(img, 2));
        Assert.Equal(ColorMap.Jet[0], Pixel(img, 3));
        Assert.Equal(ColorMap.Jet[255], Pixel(img, 4));
        Assert.Equal(ColorMap.Jet[0], Pixel(img, 5));
        Image auto = ColorMap.Jet.Apply([2f, 4f], 2, 1);
        Assert.Equal(ColorMap.Jet[0], Pixel(auto, 0));
        Assert.Equal(ColorMap.Jet[255], Pixel(auto, 1));
    }

    [Fact]
    public void BlendIsTheWeightedAverage()
    {
        var a = new Image(1, 1, 1, [100]);
        var b = new Image(1, 1, 3, [0, 200, 255]);
        Image o = HeatMapOverlay.Blend(a, b, 0.5f);
        Assert.Equal(new byte[] { 50, 150, 178 }, o.Pixels);
        Assert.Equal(new byte[] { 100, 100, 100 }, HeatMapOverlay.Blend(a, b, 0f).Pixels);
        Assert.Equal(b.Pixels, HeatMapOverlay.Blend(a, b, 1f).Pixels);
        Image over = HeatMapOverlay.Apply(new Image(8, 6, 3), [0f, 1f, 2f, 3f], 2, 2, alpha: 1f);
        Assert.Equal((8, 6, 3), (over.Width, over.Height, over.Channels));
        Assert.Equal(ColorMap.Jet[0], Pixel(over, 0));
        Assert.Equal(ColorMap.Jet[255], Pixel(over, 47));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ContourOutlinesTheRegionFromInside(int thickness)
    {
        var mask = new Image(10, 10, 1);
        for (int y = 2; y < 8; y++) for (int x = 3; x < 9; x++) mask.Pixels[y * 10 + x] = 255;
        Image drawn = MaskContour.Draw(new Image(10, 10, 1), mask, (255, 0, 0), thickness);
        for (int y = 0; y < 10; y++)
        {
            for (int x = 0; x < 10; x++)
            {
                bool inside = y >= 2 && y < 8 && x >= 3 && x < 9;
                int distance = Math.Min(Math.Min(y - 2, 7 - y), Math.Min(x - 3, 8 - x)); // to the region's edge
                bool expectRed = inside && distance < thickness;
                Assert.Equal(expectRed ? (255, 0, 0) : ((byte)0, (byte)0, (byte)0), Pixel(drawn, y * 10 + x));
            }
        }
    }

    private static (byte, byte, byte) Pixel(Image img, int i) => (img.Pixels[3 * i], img.Pixels[3 * i + 1], img.Pixels[3 * i + 2]);
}
