using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// Image resizing. <see cref="Bilinear(Image, int, int)"/> reproduces PIL's (Pillow 9.4) <c>Image.resize(size,
/// BILINEAR)</c> bit for bit on L and RGB images: a separable triangle filter whose support grows with the reduction
/// factor (antialiasing), horizontal pass then vertical pass, 8-bit rounding and clipping after each pass.
/// This is the resize of U-Flow's pre-processing (METHOD.md A.1: torchvision <c>Resize</c> on a PIL image).
/// </summary>
public static class ImageResize
{
    private const int Rounding = 1 << (ResampleCoefficients.PrecisionBits - 1);

    /// <summary>
    /// Resizes to <paramref name="width"/> × <paramref name="height"/> with PIL's bilinear filter (antialiased when
    /// reducing). Every channel is filtered independently; unlike PIL, 2- and 4-channel images are not
    /// alpha-premultiplied first. Returns a new image (a copy when the size is unchanged).
    /// </summary>
    public static Image Bilinear(Image source, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        int c = source.Channels;
        if (width == source.Width && height == source.Height) return source.Clone();
        bool horizontal = width != source.Width;
        bool vertical = height != source.Height;
        var output = new Image(width, height, c);
        if (!vertical)
        {
            HorizontalPass(source.Pixels, source.Width, c, 0, height, ResampleCoefficients.Bilinear(source.Width, width), output.Pixels, width);
            return output;
        }
        ResampleCoefficients ky = ResampleCoefficients.Bilinear(source.Height, height);
        if (!horizontal)
        {
            VerticalPass(source.Pixels, source.Width * c, 0, ky, output.Pixels, height);
            return output;
        }
        // Only the rows the vertical pass reads go through the horizontal pass.
        int rowFirst = ky.First[0];
        int rowEnd = ky.First[height - 1] + ky.Count[height - 1];
        byte[] temp = new byte[(rowEnd - rowFirst) * width * c];
        HorizontalPass(source.Pixels, source.Width, c, rowFirst, rowEnd - rowFirst, ResampleCoefficients.Bilinear(source.Width, width), temp, width);
        VerticalPass(temp, width * c, rowFirst, ky, output.Pixels, height);
        return output;
    }

    /// <summary>
    /// torchvision's <c>Resize(size)</c> with an integer size on a PIL image: the shorter side becomes
    /// <paramref name="size"/>, the longer one <c>floor(size · long / short)</c>, then <see cref="Bilinear"/>.
    /// </summary>
    public static Image ShorterSideTo(Image source, int size)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        (int w, int h) = source.Width <= source.Height
            ? (size, (int)((long)size * source.Height / source.Width))
            : ((int)((long)size * source.Width / source.Height), size);
        return Bilinear(source, w, h);
    }

    /// <summary>
    /// Nearest-neighbour resize (for label masks): output pixel (x, y) takes input pixel
    /// (floor((x + 0.5)·W/w), floor((y + 0.5)·H/h)), the pixel whose area contains the output pixel's centre.
    /// </summary>
    public static Image Nearest(Image source, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        int c = source.Channels;
        var output = new Image(width, height, c);
        var xs = new int[width];
        for (int x = 0; x < width; x++) xs[x] = Math.Min(source.Width - 1, (int)((x + 0.5) * source.Width / width)) * c;
        for (int y = 0; y < height; y++)
        {
            int sy = Math.Min(source.Height - 1, (int)((y + 0.5) * source.Height / height));
            ReadOnlySpan<byte> src = source.Row(sy);
            Span<byte> dst = output.Row(y);
            for (int x = 0; x < width; x++)
            {
                for (int k = 0; k < c; k++) dst[x * c + k] = src[xs[x] + k];
            }
        }
        return output;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte Clip8(int sum)
    {
        int v = sum >> ResampleCoefficients.PrecisionBits;
        return (byte)(v < 0 ? 0 : v > 255 ? 255 : v);
    }

    /// <summary>Horizontal pass over <paramref name="rows"/> input rows starting at <paramref name="rowFirst"/>.</summary>
    private static unsafe void HorizontalPass(byte[] src, int inWidth, int c, int rowFirst, int rows, ResampleCoefficients kx, byte[] dst, int outWidth)
    {
        int ks = kx.KernelSize;
        int inStride = inWidth * c, outStride = outWidth * c;
        fixed (byte* srcBase = src)
        fixed (byte* dstBase = dst)
        fixed (int* weights = kx.Weights)
        fixed (int* firsts = kx.First)
        fixed (int* counts = kx.Count)
        {
            long srcLength = src.Length;
            for (int r = 0; r < rows; r++)
            {
                byte* s = srcBase + (long)(rowFirst + r) * inStride;
                byte* d = dstBase + (long)r * outStride;
                if (c == 3 && Sse41.IsSupported)
                {
                    HorizontalRowRgbSse41(s, srcBase + srcLength, d, outWidth, firsts, counts, weights, ks);
                    continue;
                }
                for (int xx = 0; xx < outWidth; xx++)
                {
                    int* k = weights + xx * ks;
                    byte* p = s + firsts[xx] * c;
                    int n = counts[xx];
                    for (int ch = 0; ch < c; ch++)
                    {
                        int sum = Rounding;
                        for (int x = 0; x < n; x++) sum += p[x * c + ch] * k[x];
                        d[xx * c + ch] = Clip8(sum);
                    }
                }
            }
        }
    }

    /// <summary>One RGB row: each tap loads 4 bytes (R, G, B and the next pixel's R, ignored) into 4 int lanes.</summary>
    private static unsafe void HorizontalRowRgbSse41(byte* s, byte* srcEnd, byte* d, int outWidth, int* firsts, int* counts, int* weights, int ks)
    {
        Vector128<int> rounding = Vector128.Create(Rounding);
        Vector128<int> max = Vector128.Create(255);
        for (int xx = 0; xx < outWidth; xx++)
        {
            int* k = weights + xx * ks;
            byte* p = s + firsts[xx] * 3;
            int n = counts[xx];
            Vector128<int> acc = rounding;
            int x = 0;
            for (; x < n; x++)
            {
                byte* q = p + x * 3;
                if (q + 4 > srcEnd) break; // the very last pixel of the buffer: finish below without over-reading
                Vector128<int> px = Sse41.ConvertToVector128Int32(q);
                acc = Sse2.Add(acc, Sse41.MultiplyLow(px, Vector128.Create(k[x])));
            }
            Vector128<int> v = Sse41.Min(Sse41.Max(Sse2.ShiftRightArithmetic(acc, ResampleCoefficients.PrecisionBits), Vector128<int>.Zero), max);
            if (x < n)
            {
                int r = acc.GetElement(0), g = acc.GetElement(1), b = acc.GetElement(2);
                for (; x < n; x++) { byte* q = p + x * 3; r += q[0] * k[x]; g += q[1] * k[x]; b += q[2] * k[x]; }
                d[xx * 3] = Clip8(r); d[xx * 3 + 1] = Clip8(g); d[xx * 3 + 2] = Clip8(b);
                continue;
            }
            d[xx * 3] = (byte)v.GetElement(0);
            d[xx * 3 + 1] = (byte)v.GetElement(1);
            d[xx * 3 + 2] = (byte)v.GetElement(2);
        }
    }

    /// <summary>Vertical pass: output row y = Σ_k w_k · input row (First[y] + k − rowOffset), vectorised across the row.</summary>
    private static unsafe void VerticalPass(byte[] src, int stride, int rowOffset, ResampleCoefficients ky, byte[] dst, int outHeight)
    {
        int ks = ky.KernelSize;
        fixed (byte* srcBase = src)
        fixed (byte* dstBase = dst)
        fixed (int* weights = ky.Weights)
        {
            for (int yy = 0; yy < outHeight; yy++)
            {
                int* k = weights + yy * ks;
                byte* s0 = srcBase + (long)(ky.First[yy] - rowOffset) * stride;
                int n = ky.Count[yy];
                byte* d = dstBase + (long)yy * stride;
                int i = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    Vector256<int> rounding = Vector256.Create(Rounding);
                    Vector256<int> max = Vector256.Create(255);
                    for (; i + 32 <= stride; i += 32)
                    {
                        Vector256<int> a0 = rounding, a1 = rounding, a2 = rounding, a3 = rounding;
                        for (int y = 0; y < n; y++)
                        {
                            Vector256<byte> b = Vector256.Load(s0 + (long)y * stride + i);
                            (Vector256<ushort> lo, Vector256<ushort> hi) = Vector256.Widen(b);
                            (Vector256<uint> l0, Vector256<uint> l1) = Vector256.Widen(lo);
                            (Vector256<uint> h0, Vector256<uint> h1) = Vector256.Widen(hi);
                            Vector256<int> w = Vector256.Create(k[y]);
                            a0 += l0.AsInt32() * w;
                            a1 += l1.AsInt32() * w;
                            a2 += h0.AsInt32() * w;
                            a3 += h1.AsInt32() * w;
                        }
                        a0 = Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(a0, ResampleCoefficients.PrecisionBits), Vector256<int>.Zero), max);
                        a1 = Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(a1, ResampleCoefficients.PrecisionBits), Vector256<int>.Zero), max);
                        a2 = Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(a2, ResampleCoefficients.PrecisionBits), Vector256<int>.Zero), max);
                        a3 = Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(a3, ResampleCoefficients.PrecisionBits), Vector256<int>.Zero), max);
                        Vector256<ushort> lo16 = Vector256.Narrow(a0.AsUInt32(), a1.AsUInt32());
                        Vector256<ushort> hi16 = Vector256.Narrow(a2.AsUInt32(), a3.AsUInt32());
                        Vector256.Narrow(lo16, hi16).Store(d + i);
                    }
                }
                for (; i < stride; i++)
                {
                    int sum = Rounding;
                    for (int y = 0; y < n; y++) sum += s0[(long)y * stride + i] * k[y];
                    d[i] = Clip8(sum);
                }
            }
        }
    }
}
