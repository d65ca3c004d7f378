using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML.UFlow.Imaging.Png;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// Writes 8-bit PNG files (masks, heat maps, overlays): 1 channel → grey, 2 → grey+alpha, 3 → RGB, 4 → RGBA,
/// non-interlaced, each scanline filtered with the filter whose output has the smallest sum of absolute values.
/// </summary>
public static class PngEncoder
{
    /// <summary>Encodes <paramref name="image"/> as a PNG file in memory.</summary>
    public static byte[] Encode(Image image, CompressionLevel level = CompressionLevel.Optimal)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var output = new MemoryStream();
        Write(image, output, level);
        return output.ToArray();
    }

    /// <summary>
    /// Saves <paramref name="image"/> to <paramref name="path"/> atomically: the file is written next to the target
    /// under a temporary name and then renamed over it, so readers never see a partial file.
    /// </summary>
    public static void Save(Image image, string path, CompressionLevel level = CompressionLevel.Optimal)
    {
        ArgumentNullException.ThrowIfNull(image);
        AtomicFile.Write(path, file => Write(image, file, level));
    }

    /// <summary>Writes <paramref name="image"/> as PNG to <paramref name="destination"/>.</summary>
    public static void Write(Image image, Stream destination, CompressionLevel level = CompressionLevel.Optimal)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(destination);
        destination.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], image.Height);
        ihdr[8] = 8;
        ihdr[9] = image.Channels switch { 1 => 0, 2 => 4, 3 => 2, _ => 6 };
        ihdr[10] = ihdr[11] = ihdr[12] = 0;
        WriteChunk(destination, "IHDR"u8, ihdr);

        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, level, leaveOpen: true))
        {
            int stride = image.Stride, bpp = image.Channels;
            byte[] best = new byte[stride + 1], trial = new byte[stride + 1];
            byte[] zeros = new byte[stride];
            ReadOnlySpan<byte> prev = zeros;
            for (int y = 0; y < image.Height; y++)
            {
                ReadOnlySpan<byte> line = image.Row(y);
                long bestCost = long.MaxValue;
                for (int f = PngFilters.None; f <= PngFilters.Paeth; f++)
                {
                    long cost = PngFilters.Filter(f, line, prev, trial.AsSpan(1), bpp);
                    if (cost < bestCost)
                    {
                        bestCost = cost;
                        trial[0] = (byte)f;
                        (best, trial) = (trial, best);
                    }
                }
                z.Write(best);
                prev = line;
            }
        }
        WriteChunk(destination, "IDAT"u8, compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(destination, "IEND"u8, []);
    }

    private static void WriteChunk(Stream s, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        s.Write(type);
        s.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Append(Crc32.Compute(type), data));
        s.Write(word);
    }
}
