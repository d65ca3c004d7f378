using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.UFlow.Imaging.Png;

/// <summary>PNG scanline filters (type 0–4): reversal for decoding and application for encoding.</summary>
internal static class PngFilters
{
    public const int None = 0, Sub = 1, Up = 2, Average = 3, Paeth = 4;

    /// <summary>
    /// Reconstructs one scanline: <paramref name="cur"/> = unfilter(<paramref name="raw"/>) given the previous
    /// reconstructed line <paramref name="prev"/> (zeros for a pass's first line). <paramref name="bpp"/> is bytes per
    /// complete pixel, at least 1. Returns false for an unknown filter type.
    /// </summary>
    public static bool Unfilter(int filter, ReadOnlySpan<byte> raw, Span<byte> cur, ReadOnlySpan<byte> prev, int bpp)
    {
        int n = raw.Length;
        cur = cur[..n];
        prev = prev[..n];
        switch (filter)
        {
            case None:
                raw.CopyTo(cur);
                return true;
            case Sub:
                raw[..Math.Min(bpp, n)].CopyTo(cur);
                for (int i = bpp; i < n; i++) cur[i] = (byte)(raw[i] + cur[i - bpp]);
                return true;
            case Up:
                TensorPrimitives.Add(raw, prev, cur);
                return true;
            case Average:
                for (int i = 0; i < bpp && i < n; i++) cur[i] = (byte)(raw[i] + (prev[i] >> 1));
                for (int i = bpp; i < n; i++) cur[i] = (byte)(raw[i] + ((cur[i - bpp] + prev[i]) >> 1));
                return true;
            case Paeth when (bpp == 3 || bpp == 4) && n >= bpp && Vector128.IsHardwareAccelerated:
                UnfilterPaethPixels(raw, cur, prev, bpp);
                return true;
            case Paeth:
                for (int i = 0; i < bpp && i < n; i++) cur[i] = (byte)(raw[i] + prev[i]);
                for (int i = bpp; i < n; i++) cur[i] = (byte)(raw[i] + PaethPredictor(cur[i - bpp], prev[i], prev[i - bpp]));
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Applies filter <paramref name="filter"/> to <paramref name="line"/> (given the previous unfiltered line) into
    /// <paramref name="dst"/>, and returns the sum of the absolute values of the output bytes seen as signed, the
    /// usual heuristic for choosing a filter.
    /// </summary>
    public static long Filter(int filter, ReadOnlySpan<byte> line, ReadOnlySpan<byte> prev, Span<byte> dst, int bpp)
    {
        int n = line.Length;
        long cost = 0;
        for (int i = 0; i < n; i++)
        {
            int a = i >= bpp ? line[i - bpp] : 0;
            int b = prev[i];
            int c = i >= bpp ? prev[i - bpp] : 0;
            int pred = filter switch
            {
                Sub => a,
                Up => b,
                Average => (a + b) >> 1,
                Paeth => PaethPredictor(a, b, c),
                _ => 0,
            };
            byte v = (byte)(line[i] - pred);
            dst[i] = v;
            cost += v < 128 ? v : 256 - v;
        }
        return cost;
    }

    /// <summary>
    /// Paeth reversal for 3- and 4-byte pixels with the channels of one pixel in the lanes of a vector: the
    /// dependency on the previous pixel stays serial, but the three predictor distances and the selection are
    /// computed for all channels at once. Loads read 4 bytes per pixel, so the last pixel of a 3-byte row is done
    /// in scalar code; stores write exactly <paramref name="bpp"/> bytes.
    /// </summary>
    private static unsafe void UnfilterPaethPixels(ReadOnlySpan<byte> raw, Span<byte> cur, ReadOnlySpan<byte> prev, int bpp)
    {
        int n = raw.Length;
        Vector128<short> a = Vector128<short>.Zero, c = Vector128<short>.Zero, low = Vector128.Create((short)0xFF);
        fixed (byte* pr = raw)
        fixed (byte* pc = cur)
        fixed (byte* pp = prev)
        {
            int i = 0;
            // All pixels but the last read 4 bytes safely inside the row; the last is done with exact-size loads.
            for (; i + bpp < n || (bpp == 4 && i + 4 <= n); i += bpp)
            {
                Vector128<short> b = Load4(pp + i), x = Load4(pr + i);
                Vector128<short> da = Vector128.Abs(b - c), db = Vector128.Abs(a - c), dc = Vector128.Abs(a + b - c - c);
                Vector128<short> pred = Vector128.ConditionalSelect(
                    Vector128.LessThanOrEqual(da, db) & Vector128.LessThanOrEqual(da, dc), a,
                    Vector128.ConditionalSelect(Vector128.LessThanOrEqual(db, dc), b, c));
                Vector128<short> r = (x + pred) & low;
                uint packed = Vector128.Narrow(r.AsUInt16(), r.AsUInt16()).AsUInt32().ToScalar();
                if (bpp == 4)
                {
                    Unsafe.WriteUnaligned(pc + i, packed);
                }
                else
                {
                    Unsafe.WriteUnaligned(pc + i, (ushort)packed);
                    pc[i + 2] = (byte)(packed >> 16);
                }
                a = r;
                c = b;
            }
            for (; i < n; i++)
            {
                int left = i >= bpp ? pc[i - bpp] : 0, upLeft = i >= bpp ? pp[i - bpp] : 0;
                pc[i] = (byte)(pr[i] + PaethPredictor(left, pp[i], upLeft));
            }
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector128<short> Load4(byte* p) =>
        Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(p)).AsByte()).AsInt16();

    /// <summary>The Paeth predictor of the PNG specification (ties go to a, then b).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static int PaethPredictor(int a, int b, int c)
    {
        int pa = Math.Abs(b - c);
        int pb = Math.Abs(a - c);
        int pc = Math.Abs(a + b - 2 * c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
