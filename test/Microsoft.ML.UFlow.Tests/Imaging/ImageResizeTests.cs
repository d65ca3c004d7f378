using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Imaging;

public class ImageResizeTests
{
    /// <summary>Seeded random L and RGB images, reduced and enlarged to integer and non-integer ratios, one axis or both,
    /// and LA / RGBA images (alpha premultiplied around the resize): bit-identical to PIL's resize(BILINEAR).</summary>
    [Fact]
    public void SyntheticResizesAreBitIdenticalToPil()
    {
        // Files decode to RGB through ImageAnalytics, which premultiplies alpha: the L and RGB sources are rebuilt exactly
        // (L from the grey conversion of R = G = B), the LA and RGBA ones cannot be and are left out.
        var cases = ImagingFixtures.Resize().Where(c => c.Channels is 1 or 3).ToList();
        Assert.True(cases.Count >= 30, $"{cases.Count} cases");
        foreach (var c in cases)
        {
            Image decoded = ImageDecoder.Decode(ImagingFixtures.PathOf(c.Source));
            Image source = c.Channels == 1 ? decoded.ToGrey() : decoded;
            Image resized = ImageResize.Bilinear(source, c.Width, c.Height);
            Assert.Equal((c.Width, c.Height, c.Channels), (resized.Width, resized.Height, resized.Channels));
            int diff = MaxAbsDiff(c.Pixels, resized.Pixels);
            Assert.True(diff == 0, $"{c.Source} -> {c.Width}x{c.Height}: max |diff| {diff} against PIL");
        }
    }

    /// <summary>Real bottle images (RGB 900×900), masks (L) and MTD JPEGs resized to 448, 256, 224 and 97×61:
    /// equal to PIL (same SHA-256 of the output) and in any case within one grey level at 48 seeded samples.</summary>
    [SharedDataFact]
    public void RealImagesResizeLikePil()
    {
        string data = Path.Combine(SharedData.Root!, "data");
        var lines = ImagingFixtures.RealTsv("real_resize.tsv");
        Assert.NotEmpty(lines);
        int identical = 0;
        var cache = new Dictionary<string, Image>();
        foreach (var line in lines)
        {
            if (!cache.TryGetValue(line.Path, out Image? source))
            {
                source = ImageDecoder.Decode(Path.Combine(data, line.Path));
                cache[line.Path] = source = line.Channels == 1 ? source.ToGrey() : source;
            }
            Image resized = ImageResize.Bilinear(source, line.Width, line.Height);
            Assert.Equal(line.Channels, resized.Channels);
            foreach (var (x, y, ch, v) in line.Samples)
            {
                int got = resized.Pixels[(y * resized.Width + x) * resized.Channels + ch];
                Assert.True(Math.Abs(got - v) <= 1, $"{line.Path} -> {line.Width}x{line.Height}: ({x},{y},{ch}) = {got}, PIL {v}");
            }
            if (ImagingFixtures.Sha16(resized.Pixels) == line.Sha16) identical++;
        }
        Assert.Equal(lines.Count, identical);
    }

    [Fact]
    public void ShorterSideFollowsTorchvision()
    {
        var img = new Image(900, 600, 3);
        Image r = ImageResize.ShorterSideTo(img, 448);
        Assert.Equal((672, 448), (r.Width, r.Height));
        Image q = ImageResize.ShorterSideTo(new Image(333, 1000, 1), 100);
        Assert.Equal((100, 300), (q.Width, q.Height));
    }

    [Fact]
    public void NearestKeepsLabelsAndPicksCentres()
    {
        var mask = new Image(4, 2, 1, [0, 1, 2, 3, 4, 5, 6, 7]);
        Image up = ImageResize.Nearest(mask, 8, 4);
        Assert.Equal(new byte[] { 0, 0, 1, 1, 2, 2, 3, 3 }, up.Row(0).ToArray());
        Assert.Equal(new byte[] { 4, 4, 5, 5, 6, 6, 7, 7 }, up.Row(3).ToArray());
        Image down = ImageResize.Nearest(mask, 2, 1);
        Assert.Equal(new byte[] { 5, 7 }, down.Pixels);
    }

    /// <summary>The SIMD paths agree with a plain scalar evaluation of the same fixed-point formula on odd widths.</summary>
    [Theory]
    [InlineData(1, 101, 67, 40, 29)]
    [InlineData(1, 900, 30, 256, 11)]
    [InlineData(1, 9, 5, 31, 2)]
    [InlineData(1, 700, 3, 13, 3)]
    [InlineData(3, 101, 67, 40, 29)]
    [InlineData(3, 35, 70, 77, 13)]
    public void MatchesScalarReference(int channels, int w, int h, int ow, int oh)
    {
        var rng = new Random(7 + channels);
        var src = new Image(w, h, channels);
        rng.NextBytes(src.Pixels);
        Image fast = ImageResize.Bilinear(src, ow, oh);
        Assert.Equal(Reference(src, ow, oh), fast.Pixels);
    }

    private static byte[] Reference(Image s, int ow, int oh)
    {
        int c = s.Channels;
        var kx = ResampleCoefficients.Bilinear(s.Width, ow);
        var ky = ResampleCoefficients.Bilinear(s.Height, oh);
        var tmp = new byte[s.Height * ow * c];
        for (int y = 0; y < s.Height; y++)
            for (int x = 0; x < ow; x++)
                for (int ch = 0; ch < c; ch++)
                {
                    long sum = 1 << 21;
                    for (int t = 0; t < kx.Count[x]; t++) sum += s.Pixels[(y * s.Width + kx.First[x] + t) * c + ch] * (long)kx.Weights[x * kx.KernelSize + t];
                    tmp[(y * ow + x) * c + ch] = (byte)Math.Clamp(sum >> 22, 0, 255);
                }
        var outp = new byte[oh * ow * c];
        for (int y = 0; y < oh; y++)
            for (int i = 0; i < ow * c; i++)
            {
                long sum = 1 << 21;
                for (int t = 0; t < ky.Count[y]; t++) sum += tmp[(ky.First[y] + t) * ow * c + i] * (long)ky.Weights[y * ky.KernelSize + t];
                outp[y * ow * c + i] = (byte)Math.Clamp(sum >> 22, 0, 255);
            }
        return outp;
    }

    private static int MaxAbsDiff(byte[] a, byte[] b)
    {
        int m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}
