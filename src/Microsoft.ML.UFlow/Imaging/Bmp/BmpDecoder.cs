using System.Buffers.Binary;
using System.Numerics;

namespace Microsoft.ML.UFlow.Imaging.Bmp;

/// <summary>
/// Windows bitmap decoder for uncompressed files as PIL reads them: 1/4/8-bit palette (→ RGB, or L when the palette
/// is PIL's identity grey ramp), 16-bit (5-5-5 by default or BI_BITFIELDS), 24-bit, 32-bit (BI_RGB ignores the 4th
/// byte; BI_BITFIELDS with an alpha mask gives RGBA). Bottom-up and top-down rows. RLE compression is not supported.
/// </summary>
internal static class BmpDecoder
{
    private const int BiRgb = 0, BiBitfields = 3, BiAlphaBitfields = 6;

    public static Image Decode(ReadOnlySpan<byte> d, string name)
    {
        if (d.Length < 26) throw new ImageDecodeException(name, "truncated BMP: header incomplete.");
        uint pixelOffset = BinaryPrimitives.ReadUInt32LittleEndian(d[10..]);
        uint headerSize = BinaryPrimitives.ReadUInt32LittleEndian(d[14..]);
        if (headerSize is not (12 or 40 or 52 or 56 or 64 or 108 or 124)) throw new ImageDecodeException(name, $"unsupported BMP header size {headerSize}.");
        if (d.Length < 14 + headerSize) throw new ImageDecodeException(name, "truncated BMP: info header incomplete.");
        ReadOnlySpan<byte> info = d.Slice(14, (int)headerSize);
        long width, height;
        int bpp, compression = BiRgb, colorsUsed = 0, paletteEntrySize;
        if (headerSize == 12)
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(info[4..]);
            height = BinaryPrimitives.ReadUInt16LittleEndian(info[6..]);
            bpp = BinaryPrimitives.ReadUInt16LittleEndian(info[10..]);
            paletteEntrySize = 3;
        }
        else
        {
            width = BinaryPrimitives.ReadInt32LittleEndian(info[4..]);
            height = BinaryPrimitives.ReadInt32LittleEndian(info[8..]);
            bpp = BinaryPrimitives.ReadUInt16LittleEndian(info[14..]);
            compression = BinaryPrimitives.ReadInt32LittleEndian(info[16..]);
            colorsUsed = BinaryPrimitives.ReadInt32LittleEndian(info[32..]);
            paletteEntrySize = 4;
        }
        bool topDown = height < 0;
        height = Math.Abs(height);
        ImageLimits.Check(name, width, height);
        int w = (int)width, h = (int)height;
        if (bpp is not (1 or 4 or 8 or 16 or 24 or 32)) throw new ImageDecodeException(name, $"unsupported BMP bit depth {bpp}.");
        if (compression is not (BiRgb or BiBitfields or BiAlphaBitfields) || (compression != BiRgb && bpp is not (16 or 32)))
        {
            throw new ImageDecodeException(name, $"unsupported BMP compression {compression} with {bpp} bits per pixel (RLE is not supported).");
        }

        // Channel masks (red, green, blue, alpha) for 16/32-bit files.
        uint[] masks = bpp == 16 ? [0x7C00, 0x03E0, 0x001F, 0] : [0xFF0000, 0xFF00, 0xFF, 0];
        int afterHeader = 14 + (int)headerSize;
        if (compression != BiRgb)
        {
            int count = compression == BiAlphaBitfields ? 4 : 3;
            if (headerSize >= 52)
            {
                for (int i = 0; i < 3; i++) masks[i] = BinaryPrimitives.ReadUInt32LittleEndian(info[(40 + 4 * i)..]);
                if (headerSize >= 56) masks[3] = BinaryPrimitives.ReadUInt32LittleEndian(info[52..]);
            }
            else
            {
                if (d.Length < afterHeader + 4 * count) throw new ImageDecodeException(name, "truncated BMP: bit fields incomplete.");
                for (int i = 0; i < count; i++) masks[i] = BinaryPrimitives.ReadUInt32LittleEndian(d[(afterHeader + 4 * i)..]);
                afterHeader += 4 * count;
            }
            for (int i = 0; i < 4; i++)
            {
                if (masks[i] != 0 && (BitOperations.PopCount(masks[i]) > 8 || !IsContiguous(masks[i])))
                {
                    throw new ImageDecodeException(name, $"unsupported BMP channel mask 0x{masks[i]:X8}.");
                }
            }
        }

        byte[]? palette = null;
        bool greyRamp = false;
        if (bpp <= 8)
        {
            int colors = colorsUsed > 0 ? colorsUsed : 1 << bpp;
            if (colors > 1 << bpp || colors < 0) throw new ImageDecodeException(name, $"invalid BMP palette size {colorsUsed}.");
            if ((long)afterHeader + (long)colors * paletteEntrySize > d.Length) throw new ImageDecodeException(name, "truncated BMP: palette incomplete.");
            palette = new byte[3 * 256];
            greyRamp = true;
            for (int i = 0; i < colors; i++)
            {
                int o = afterHeader + i * paletteEntrySize;
                byte b = d[o], g = d[o + 1], r = d[o + 2];
                palette[3 * i] = r; palette[3 * i + 1] = g; palette[3 * i + 2] = b;
                int expected = colors == 2 ? i * 255 : i;
                if (r != expected || g != expected || b != expected) greyRamp = false;
            }
        }

        long stride = ((long)w * bpp + 31) / 32 * 4;
        if (pixelOffset > d.Length || stride * h > d.Length - pixelOffset)
        {
            throw new ImageDecodeException(name, $"truncated BMP: pixel data needs {stride * h} bytes from offset {pixelOffset} but the file has {d.Length} bytes.");
        }
        bool alpha = compression != BiRgb && bpp == 32 && masks[3] != 0;
        int channels = palette is not null ? (greyRamp ? 1 : 3) : alpha ? 4 : 3;
        var image = new Image(w, h, channels);
        for (int y = 0; y < h; y++)
        {
            ReadOnlySpan<byte> src = d.Slice((int)(pixelOffset + stride * (topDown ? y : h - 1 - y)), (int)stride);
            Span<byte> dst = image.Row(y);
            if (palette is not null) DecodePaletteRow(src, dst, w, bpp, palette, greyRamp);
            else if (bpp == 24) for (int x = 0; x < w; x++) { dst[3 * x] = src[3 * x + 2]; dst[3 * x + 1] = src[3 * x + 1]; dst[3 * x + 2] = src[3 * x]; }
            else DecodeMaskedRow(src, dst, w, bpp, masks, channels);
        }
        return image;
    }

    private static bool IsContiguous(uint mask)
    {
        uint shifted = mask >> BitOperations.TrailingZeroCount(mask);
        return (shifted & (shifted + 1)) == 0;
    }

    private static void DecodePaletteRow(ReadOnlySpan<byte> src, Span<byte> dst, int w, int bpp, byte[] palette, bool grey)
    {
        int mask = (1 << bpp) - 1;
        for (int x = 0; x < w; x++)
        {
            int bit = x * bpp;
            int index = (src[bit >> 3] >> (8 - bpp - (bit & 7))) & mask;
            if (grey) dst[x] = palette[3 * index];
            else { dst[3 * x] = palette[3 * index]; dst[3 * x + 1] = palette[3 * index + 1]; dst[3 * x + 2] = palette[3 * index + 2]; }
        }
    }

    private static void DecodeMaskedRow(ReadOnlySpan<byte> src, Span<byte> dst, int w, int bpp, uint[] masks, int channels)
    {
        int bytes = bpp / 8;
        for (int x = 0; x < w; x++)
        {
            uint v = bytes == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * x)..]) : BinaryPrimitives.ReadUInt32LittleEndian(src[(4 * x)..]);
            for (int c = 0; c < channels; c++) dst[channels * x + c] = Extract(v, masks[c]);
        }
    }

    /// <summary>Extracts a masked field scaled to 8 bits the way PIL's unpackers do (v·255 / max, truncated).</summary>
    private static byte Extract(uint value, uint mask)
    {
        if (mask == 0) return 0;
        int shift = BitOperations.TrailingZeroCount(mask);
        uint max = mask >> shift;
        uint v = (value & mask) >> shift;
        return max == 255 ? (byte)v : (byte)(v * 255 / max);
    }
}
