using Microsoft.ML.UFlow.Imaging;

namespace Microsoft.ML.UFlow.Tests.Imaging;

public class PngEncoderTests
{
    /// <summary>Encode → decode (the PIL-verified decoder) returns the same pixels, for every channel count and for
    /// content that makes every filter type win somewhere (noise, gradients, flat areas).</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void RoundTripsEveryChannelCount(int channels)
    {
        var rng = new Random(channels);
        var image = new Image(37, 21, channels);
        for (int y = 0; y < image.Height; y++)
        {
            Span<byte> row = image.Row(y);
            for (int i = 0; i < row.Length; i++)
            {
                row[i] = (y % 4) switch { 0 => (byte)rng.Next(256), 1 => (byte)(i * 7), 2 => 200, _ => (byte)(i + y * 3) };
            }
        }
        byte[] png = PngEncoder.Encode(image);
        Image back = ImageDecoder.Decode(png, "roundtrip.png");
        Assert.Equal((image.Width, image.Height, image.Channels), (back.Width, back.Height, back.Channels));
        Assert.Equal(image.Pixels, back.Pixels);
    }

    [Fact]
    public void SaveIsAtomicAndOverwrites()
    {
        string dir = Path.Combine(Path.GetTempPath(), "uflow-png-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "mask.png");
            PngEncoder.Save(new Image(3, 3, 1), path);
            var second = new Image(2, 2, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
            PngEncoder.Save(second, path);
            Assert.Equal(second.Pixels, ImageDecoder.Decode(path).Pixels);
            Assert.Single(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
