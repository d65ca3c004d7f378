using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace Microsoft.ML.UFlow.Imaging.Png;

/// <summary>
/// PNG decoder (all colour types, bit depths 1–16, Adam7) producing 8-bit pixels the way PIL 9.4 reads them:
/// grey → L (1, 2 and 4-bit grey scaled to 0–255, 16-bit grey clipped to 255 like PIL's I → L), grey+alpha → LA,
/// RGB → RGB, palette → RGB, or RGBA when a tRNS chunk is present, RGBA → RGBA; other 16-bit samples keep their
/// most significant byte. tRNS of grey and RGB images is ignored (PIL keeps those modes). Every chunk CRC is checked.
/// </summary>
internal static class PngDecoder
{
    private static ReadOnlySpan<byte> Signature => [137, 80, 78, 71, 13, 10, 26, 10];

    /// <summary>Adam7 passes: x0, y0, dx, dy.</summary>
    private static ReadOnlySpan<byte> Adam7 => [0, 0, 8, 8, 4, 0, 8, 8, 0, 4, 4, 8, 2, 0, 4, 4, 0, 2, 2, 4, 1, 0, 2, 2, 0, 1, 1, 2];

    /// <summary>Deflate expands at most ~1032:1; a larger claimed ratio means the IDAT data cannot fill the image.</summary>
    private const long MaxInflateRatio = 1040;

    public static bool HasSignature(ReadOnlySpan<byte> data) => data.Length >= 8 && data[..8].SequenceEqual(Signature);

    private sealed class Header
    {
        public int Width, Height, BitDepth, ColorType, Interlace;
        public int SamplesPerPixel => ColorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };
        public int BitsPerPixel => SamplesPerPixel * BitDepth;
        public long RowBytes(int width) => ((long)width * BitsPerPixel + 7) >> 3;
    }

    public static Image Decode(ReadOnlySpan<byte> data, string name)
    {
        if (!HasSignature(data)) throw new ImageDecodeException(name, "not a PNG file (bad signature).");
        Header? h = null;
        byte[]? palette = null; // 256 RGB entries, zero padded like PIL
        byte[]? alpha = null;   // 256 alpha values for palette images with tRNS
        int idatCount = 0;
        long idatTotal = 0;
        var idatRanges = new List<(int Offset, int Length)>();
        bool sawIend = false;
        int pos = 8;
        while (!sawIend)
        {
            if (data.Length - pos < 12)
            {
                throw new ImageDecodeException(name, pos == data.Length ? "truncated PNG: no IEND chunk." : $"truncated PNG: file ends inside a chunk header at byte {pos}.");
            }
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[pos..]);
            ReadOnlySpan<byte> type = data.Slice(pos + 4, 4);
            string typeName = ChunkName(type, name);
            if (length > (uint)(data.Length - pos - 12))
            {
                throw new ImageDecodeException(name, $"truncated PNG: chunk {typeName} at byte {pos} declares {length} bytes but only {Math.Max(0, data.Length - pos - 12)} remain.");
            }
            int len = (int)length;
            ReadOnlySpan<byte> body = data.Slice(pos + 8, len);
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(data[(pos + 8 + len)..]);
            if (Crc32.Compute(data.Slice(pos + 4, 4 + len)) != stored)
            {
                throw new ImageDecodeException(name, $"CRC mismatch in chunk {typeName} at byte {pos}.");
            }
            if (h is null && typeName != "IHDR") throw new ImageDecodeException(name, $"first chunk is {typeName}, expected IHDR.");
            switch (typeName)
            {
                case "IHDR":
                    if (h is not null) throw new ImageDecodeException(name, "duplicate IHDR chunk.");
                    h = ParseHeader(body, name);
                    break;
                case "PLTE":
                    if (len % 3 != 0 || len == 0 || len > 768) throw new ImageDecodeException(name, $"invalid PLTE length {len}.");
                    if (idatCount > 0) throw new ImageDecodeException(name, "PLTE after IDAT.");
                    palette = new byte[768];
                    body.CopyTo(palette);
                    break;
                case "tRNS":
                    if (h!.ColorType == 3)
                    {
                        if (len > 256) throw new ImageDecodeException(name, $"invalid tRNS length {len} for a palette image.");
                        alpha = new byte[256];
                        alpha.AsSpan().Fill(255);
                        body.CopyTo(alpha);
                    }
                    break;
                case "IDAT":
                    idatCount++;
                    idatTotal += len;
                    idatRanges.Add((pos + 8, len));
                    break;
                case "IEND":
                    sawIend = true;
                    break;
            }
            pos += 12 + len;
        }
        if (idatCount == 0) throw new ImageDecodeException(name, "no IDAT chunk.");
        if (h!.ColorType == 3 && palette is null) throw new ImageDecodeException(name, "palette image without a PLTE chunk.");

        long rawSize = RawSize(h);
        if (rawSize > MaxInflateRatio * idatTotal + 1024)
        {
            throw new ImageDecodeException(name, $"IDAT data ({idatTotal} bytes) is far too small for a {h.Width}x{h.Height} image; the file is truncated or corrupt.");
        }

        byte[] compressed = ArrayPool<byte>.Shared.Rent((int)idatTotal);
        try
        {
            int at = 0;
            foreach (var (offset, length) in idatRanges)
            {
                data.Slice(offset, length).CopyTo(compressed.AsSpan(at));
                at += length;
            }
            int channels = h.ColorType switch { 0 => 1, 2 => 3, 3 => alpha is null ? 3 : 4, 4 => 2, _ => 4 };
            var image = new Image(h.Width, h.Height, channels);
            using var ms = new MemoryStream(compressed, 0, at, writable: false);
            using var z = new ZLibStream(ms, CompressionMode.Decompress);
            try
            {
                ReadScanlines(z, h, image, palette, alpha, name);
            }
            catch (Exception e) when (e is InvalidDataException || (e is IOException && e is not ImageDecodeException))
            {
                // zlib reports bad data as InvalidDataException or, for some states, ZLibException (an IOException).
                throw new ImageDecodeException(name, "corrupt zlib data in IDAT: " + e.Message, e);
            }
            return image;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    private static string ChunkName(ReadOnlySpan<byte> type, string name)
    {
        foreach (byte b in type)
        {
            if (!((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z')))
            {
                throw new ImageDecodeException(name, $"invalid chunk type bytes {Convert.ToHexString(type)}.");
            }
        }
        return string.Create(4, type.ToArray(), static (s, t) => { for (int i = 0; i < 4; i++) s[i] = (char)t[i]; });
    }

    private static Header ParseHeader(ReadOnlySpan<byte> body, string name)
    {
        if (body.Length != 13) throw new ImageDecodeException(name, $"IHDR has {body.Length} bytes, expected 13.");
        uint w = BinaryPrimitives.ReadUInt32BigEndian(body);
        uint hgt = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
        ImageLimits.Check(name, w, hgt);
        var h = new Header { Width = (int)w, Height = (int)hgt, BitDepth = body[8], ColorType = body[9], Interlace = body[12] };
        bool ok = h.ColorType switch
        {
            0 => h.BitDepth is 1 or 2 or 4 or 8 or 16,
            3 => h.BitDepth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => h.BitDepth is 8 or 16,
            _ => false,
        };
        if (!ok) throw new ImageDecodeException(name, $"unsupported colour type {h.ColorType} with bit depth {h.BitDepth}.");
        if (body[10] != 0) throw new ImageDecodeException(name, $"unknown compression method {body[10]}.");
        if (body[11] != 0) throw new ImageDecodeException(name, $"unknown filter method {body[11]}.");
        if (h.Interlace > 1) throw new ImageDecodeException(name, $"unknown interlace method {h.Interlace}.");
        return h;
    }

    private static long RawSize(Header h)
    {
        if (h.Interlace == 0) return h.Height * (1 + h.RowBytes(h.Width));
        long total = 0;
        for (int p = 0; p < 7; p++)
        {
            (int pw, int ph) = PassSize(h, p);
            if (pw > 0 && ph > 0) total += ph * (1 + h.RowBytes(pw));
        }
        return total;
    }

    private static (int W, int H) PassSize(Header h, int pass)
    {
        ReadOnlySpan<byte> a = Adam7;
        int x0 = a[4 * pass], y0 = a[4 * pass + 1], dx = a[4 * pass + 2], dy = a[4 * pass + 3];
        int pw = h.Width > x0 ? (h.Width - x0 + dx - 1) / dx : 0;
        int ph = h.Height > y0 ? (h.Height - y0 + dy - 1) / dy : 0;
        return (pw, ph);
    }

    private static void ReadScanlines(Stream z, Header h, Image image, byte[]? palette, byte[]? alpha, string name)
    {
        int bpp = Math.Max(1, h.BitsPerPixel / 8);
        int maxRow = (int)h.RowBytes(h.Width);
        byte[] rented = ArrayPool<byte>.Shared.Rent(4 * (maxRow + 1));
        try
        {
            Span<byte> all = rented.AsSpan(0, 4 * (maxRow + 1));
            all.Clear();
            Span<byte> raw = all[..(maxRow + 1)];
            Span<byte> lineA = all.Slice(maxRow + 1, maxRow);
            Span<byte> lineB = all.Slice(2 * (maxRow + 1), maxRow);
            ReadOnlySpan<byte> zeros = all.Slice(3 * (maxRow + 1), maxRow);
            bool direct = h.Interlace == 0 && h.BitDepth == 8 && h.ColorType != 3;
            int passes = h.Interlace == 0 ? 1 : 7;
            for (int p = 0; p < passes; p++)
            {
                int x0 = 0, y0 = 0, dx = 1, dy = 1, pw = h.Width, ph = h.Height;
                if (h.Interlace == 1)
                {
                    ReadOnlySpan<byte> a = Adam7;
                    x0 = a[4 * p]; y0 = a[4 * p + 1]; dx = a[4 * p + 2]; dy = a[4 * p + 3];
                    (pw, ph) = PassSize(h, p);
                    if (pw == 0 || ph == 0) continue;
                }
                int rowBytes = (int)h.RowBytes(pw);
                Span<byte> line = raw[..(rowBytes + 1)];
                ReadOnlySpan<byte> prev = zeros[..rowBytes];
                for (int j = 0; j < ph; j++)
                {
                    ReadRow(z, line, name);
                    int y = y0 + j * dy;
                    Span<byte> cur = direct ? image.Row(y) : ((j & 1) == 0 ? lineA : lineB)[..rowBytes];
                    if (!PngFilters.Unfilter(line[0], line[1..], cur, prev, bpp))
                    {
                        throw new ImageDecodeException(name, $"unknown filter type {line[0]} in scanline {j}" + (passes > 1 ? $" of Adam7 pass {p + 1}." : "."));
                    }
                    if (!direct) Emit(cur, h, image, y, x0, dx, pw, palette, alpha);
                    prev = cur;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void ReadRow(Stream z, Span<byte> line, string name)
    {
        int got = z.ReadAtLeast(line, line.Length, throwOnEndOfStream: false);
        if (got < line.Length) throw new ImageDecodeException(name, "truncated PNG: the IDAT data ends before the last scanline.");
    }

    /// <summary>Converts one reconstructed scanline to 8-bit output pixels at x = x0 + i·dx of row y.</summary>
    private static void Emit(ReadOnlySpan<byte> line, Header h, Image image, int y, int x0, int dx, int pw, byte[]? palette, byte[]? alpha)
    {
        int c = image.Channels;
        Span<byte> row = image.Row(y);
        int bd = h.BitDepth;
        if (h.ColorType == 3)
        {
            int mask = (1 << bd) - 1;
            for (int i = 0; i < pw; i++)
            {
                int index = bd == 8 ? line[i] : (line[(i * bd) >> 3] >> (8 - bd - ((i * bd) & 7))) & mask;
                int o = (x0 + i * dx) * c;
                row[o] = palette![3 * index];
                row[o + 1] = palette[3 * index + 1];
                row[o + 2] = palette[3 * index + 2];
                if (c == 4) row[o + 3] = alpha![index];
            }
            return;
        }
        if (bd < 8)
        {
            // Grey 1/2/4-bit: PIL scales to 0..255 (1-bit -> 0/255, 2-bit -> x85, 4-bit -> x17).
            int mask = (1 << bd) - 1, scale = 255 / mask;
            for (int i = 0; i < pw; i++)
            {
                int v = (line[(i * bd) >> 3] >> (8 - bd - ((i * bd) & 7))) & mask;
                row[x0 + i * dx] = (byte)(v * scale);
            }
            return;
        }
        int spp = h.SamplesPerPixel;
        if (bd == 8)
        {
            for (int i = 0; i < pw; i++)
            {
                line.Slice(i * spp, spp).CopyTo(row.Slice((x0 + i * dx) * c, c));
            }
            return;
        }
        // 16-bit: PIL keeps the most significant byte, except grey (mode I) which convert("L") clips to 255.
        bool clip = h.ColorType == 0;
        for (int i = 0; i < pw; i++)
        {
            int o = (x0 + i * dx) * c;
            for (int s = 0; s < spp; s++)
            {
                int hi = line[2 * (i * spp + s)], lo = line[2 * (i * spp + s) + 1];
                row[o + s] = clip ? (byte)(hi != 0 ? 255 : lo) : (byte)hi;
            }
        }
    }
}
