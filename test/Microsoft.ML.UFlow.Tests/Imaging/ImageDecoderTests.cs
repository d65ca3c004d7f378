using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Imaging;

public class ImageDecoderTests
{
    public static TheoryData<string> SyntheticNames()
    {
        var data = new TheoryData<string>();
        foreach (var e in ImagingFixtures.Synthetic()) data.Add(e.Name);
        return data;
    }

    /// <summary>Every synthetic PNG (each colour type, bit depth, Adam7, tRNS, all filter types) and BMP variant is pixel-identical to PIL.</summary>
    [Theory]
    [MemberData(nameof(SyntheticNames))]
    public void SyntheticFilesArePixelIdenticalToPil(string name)
    {
        var expected = ImagingFixtures.Synthetic().Single(e => e.Name == name);
        Image image = ImageDecoder.Decode(ImagingFixtures.PathOf(name));
        Assert.Equal((expected.Width, expected.Height, expected.Channels), (image.Width, image.Height, image.Channels));
        Assert.Equal(expected.Pixels, image.Pixels);
    }

    /// <summary>Every real image decodes: PNGs bit-identical to PIL; JPEGs within one grey level at seeded samples
    /// (and the number of bit-identical JPEGs is reported).</summary>
    [SharedDataFact]
    public void EveryRealImageMatchesPil()
    {
        string data = Path.Combine(SharedData.Root!, "data");
        var lines = ImagingFixtures.RealTsv("real_decode.tsv");
        Assert.True(lines.Count > 3000, $"expected the full list of real images, got {lines.Count}");
        int jpegs = 0, jpegIdentical = 0;
        foreach (var line in lines)
        {
            string path = Path.Combine(data, line.Path);
            Image image = ImageDecoder.Decode(path);
            Assert.True((line.Width, line.Height, line.Channels) == (image.Width, image.Height, image.Channels),
                $"{line.Path}: size {image.Width}x{image.Height}x{image.Channels}, PIL {line.Width}x{line.Height}x{line.Channels}");
            string sha = ImagingFixtures.Sha16(image.Pixels);
            if (line.Path.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            {
                Assert.True(sha == line.Sha16, $"{line.Path}: pixels differ from PIL's");
                continue;
            }
            jpegs++;
            if (sha == line.Sha16) jpegIdentical++;
            foreach (var (x, y, c, v) in line.Samples)
            {
                int got = image.Pixels[(y * image.Width + x) * image.Channels + c];
                Assert.True(Math.Abs(got - v) <= 1, $"{line.Path}: pixel ({x},{y},{c}) = {got}, PIL {v}");
            }
        }
        Assert.True(jpegs > 0);
        // libjpeg-turbo is also PIL's decoder, so with the same (default, accurate) settings the output is identical.
        Assert.Equal(jpegs, jpegIdentical);
    }

    [Fact]
    public void UnknownSignatureAndEmptyFileNameTheFile()
    {
        var e1 = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode([1, 2, 3, 4], "x.gif"));
        Assert.Equal("x.gif", e1.FileName);
        Assert.StartsWith("x.gif: ", e1.Message);
        var e2 = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode([], "empty.png"));
        Assert.Contains("empty", e2.Reason);
    }

    [Fact]
    public void DetectFormatUsesSignatures()
    {
        Assert.Equal(ImageFormat.Png, ImageDecoder.DetectFormat([137, 80, 78, 71, 13, 10, 26, 10]));
        Assert.Equal(ImageFormat.Jpeg, ImageDecoder.DetectFormat([0xFF, 0xD8, 0xFF, 0xE0]));
        Assert.Equal(ImageFormat.Bmp, ImageDecoder.DetectFormat("BM"u8));
        Assert.Equal(ImageFormat.Unknown, ImageDecoder.DetectFormat("GIF89a"u8));
    }
}
