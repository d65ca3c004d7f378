using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tests.Infrastructure;
using SkiaSharp;

namespace Microsoft.ML.UFlow.Tests.Imaging;

/// <summary>
/// Images decode through ML.NET ImageAnalytics (SkiaSharp) to RGB; compared with Pillow's pixels (the reference of the
/// paper's pipeline) on the synthetic fixtures and on every real image of ../shared.
/// </summary>
public class ImageDecoderTests
{
    // ImageAnalytics decodes to 8-bit premultiplied BGRA: opaque 8-bit files (every data set here, all 3000+ real images
    // below) decode exactly as Pillow does; 16-bit samples and alpha do not (Skia converts and premultiplies).
    private static bool OpaqueEightBit(string name) =>
        !name.Contains("_bd16_", StringComparison.Ordinal) && !name.Contains("_trns", StringComparison.Ordinal)
        && !name.Contains("/ct4_", StringComparison.Ordinal) && !name.Contains("/ct6_", StringComparison.Ordinal)
        && !name.Contains("rgba", StringComparison.Ordinal);

    public static TheoryData<string> SyntheticNames()
    {
        var data = new TheoryData<string>();
        foreach (var e in ImagingFixtures.Synthetic().Where(e => OpaqueEightBit(e.Name))) data.Add(e.Name);
        return data;
    }

    public static TheoryData<string> SixteenBitOrAlphaNames()
    {
        var data = new TheoryData<string>();
        foreach (var e in ImagingFixtures.Synthetic().Where(e => !OpaqueEightBit(e.Name))) data.Add(e.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(SixteenBitOrAlphaNames))]
    public void Sixteen_bit_and_alpha_files_decode_to_their_size(string name)
    {
        var expected = ImagingFixtures.Synthetic().Single(e => e.Name == name);
        Image image = ImageDecoder.Decode(ImagingFixtures.PathOf(name));
        Assert.Equal((expected.Width, expected.Height, 3), (image.Width, image.Height, image.Channels));
    }

    [Theory]
    [MemberData(nameof(SyntheticNames))]
    public void Synthetic_files_match_pil(string name)
    {
        var expected = ImagingFixtures.Synthetic().Single(e => e.Name == name);
        Image image = ImageDecoder.Decode(ImagingFixtures.PathOf(name));
        Assert.Equal((expected.Width, expected.Height, 3), (image.Width, image.Height, image.Channels));
        byte[] rgb = ToRgb(expected.Pixels, expected.Channels);
        int worst = 0;
        for (int i = 0; i < rgb.Length; i++) worst = Math.Max(worst, Math.Abs(rgb[i] - image.Pixels[i]));
        // 5-bit BMP channels are widened to 8 bits with a different rounding (one grey level); everything else is exact.
        int allowed = name == "bmp/rgb555.bmp" ? 1 : 0;
        Assert.True(worst <= allowed, $"{name}: largest difference from PIL {worst} grey levels");
    }

    /// <summary>Every real image decodes: PNGs bit-identical to PIL; JPEGs within one grey level at seeded samples.</summary>
    [SharedDataFact]
    public void Every_real_image_matches_pil()
    {
        string data = Path.Combine(SharedData.Root!, "data");
        var lines = ImagingFixtures.RealTsv("real_decode.tsv");
        Assert.True(lines.Count > 3000, $"expected the full list of real images, got {lines.Count}");
        int jpegs = 0, jpegIdentical = 0;
        foreach (var line in lines)
        {
            Image image = ImageDecoder.Decode(Path.Combine(data, line.Path));
            Assert.True((line.Width, line.Height) == (image.Width, image.Height), $"{line.Path}: size {image.Width}x{image.Height}, PIL {line.Width}x{line.Height}");
            Image asPil = line.Channels == 1 ? image.ToGrey() : image;
            string sha = ImagingFixtures.Sha16(asPil.Pixels);
            if (line.Path.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            {
                Assert.True(sha == line.Sha16, $"{line.Path}: pixels differ from PIL's");
                continue;
            }
            jpegs++;
            if (sha == line.Sha16) jpegIdentical++;
            foreach (var (x, y, c, v) in line.Samples)
            {
                int got = asPil.Pixels[(y * asPil.Width + x) * asPil.Channels + c];
                Assert.True(Math.Abs(got - v) <= 1, $"{line.Path}: pixel ({x},{y},{c}) = {got}, PIL {v}");
            }
        }
        Assert.True(jpegs > 0);
        Assert.True(jpegIdentical == jpegs, $"{jpegIdentical} of {jpegs} JPEGs bit-identical to PIL");
    }

    [Fact]
    public void Empty_truncated_and_foreign_files_name_the_file()
    {
        string dir = Path.Combine(Path.GetTempPath(), "uflow-decode-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var cases = new Dictionary<string, byte[]>
            {
                ["empty.png"] = [],
                ["text.png"] = "not an image at all"u8.ToArray(),
                ["truncated.png"] = File.ReadAllBytes(ImagingFixtures.PathOf(ImagingFixtures.Synthetic().First(e => e.Name.EndsWith(".png", StringComparison.Ordinal)).Name))[..20],
            };
            foreach (var (name, bytes) in cases)
            {
                string path = Path.Combine(dir, name);
                File.WriteAllBytes(path, bytes);
                var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(path));
                Assert.Equal(path, e.FileName);
            }
            var missing = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(Path.Combine(dir, "absent.png")));
            Assert.Contains("absent.png", missing.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Png_written_by_the_encoder_decodes_to_the_same_pixels()
    {
        var random = new Random(3);
        string path = Path.Combine(Path.GetTempPath(), $"uflow-png-{Guid.NewGuid():N}.png");
        try
        {
            using var rgb = new SKBitmap(new SKImageInfo(17, 9, SKColorType.Rgba8888, SKAlphaType.Opaque));
            var pixels = new byte[17 * 9 * 3];
            random.NextBytes(pixels);
            for (int i = 0; i < 17 * 9; i++) rgb.SetPixel(i % 17, i / 17, new SKColor(pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]));
            PngEncoder.Save(rgb, path);
            Assert.Equal(pixels, ImageDecoder.Decode(path).Pixels);
            using (SKBitmap again = ImageDecoder.DecodeToBitmap(path))
            {
                Assert.Equal((17, 9), (again.Width, again.Height));
                Assert.Equal(rgb.Pixels, again.Pixels);
            }

            using var grey = new SKBitmap(new SKImageInfo(5, 4, SKColorType.Gray8, SKAlphaType.Opaque));
            var levels = new byte[20];
            random.NextBytes(levels);
            levels.CopyTo(grey.GetPixelSpan());
            PngEncoder.Save(grey, path); // replaces the RGB file
            Assert.Equal(levels, ImageDecoder.Decode(path).ToGrey().Pixels);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Bitmap_decoding_names_the_bad_file()
    {
        string path = Path.Combine(Path.GetTempPath(), $"uflow-bad-{Guid.NewGuid():N}.png");
        try
        {
            File.WriteAllBytes(path, [1, 2, 3, 4]);
            Assert.Equal(path, Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeToBitmap(path)).FileName);
            File.Delete(path);
            Assert.Equal(path, Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeToBitmap(path)).FileName);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] ToRgb(byte[] pixels, int channels)
    {
        if (channels == 3) return pixels;
        int n = pixels.Length / channels;
        var rgb = new byte[n * 3];
        for (int p = 0; p < n; p++)
        {
            int s = p * channels;
            // L / LA: grey replicated; RGBA: alpha dropped.
            rgb[3 * p] = pixels[s];
            rgb[3 * p + 1] = channels >= 3 ? pixels[s + 1] : pixels[s];
            rgb[3 * p + 2] = channels >= 3 ? pixels[s + 2] : pixels[s];
        }
        return rgb;
    }
}
