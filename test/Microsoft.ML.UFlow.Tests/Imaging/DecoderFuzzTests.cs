using System.Buffers.Binary;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Imaging;

/// <summary>
/// Seeded mutation fuzzing of the decoders: truncations, bit flips, overwritten runs, inserted/deleted bytes,
/// and PNG-aware mutations (chunk data corrupted with the CRC recomputed, so the inflate, unfilter and header
/// validation paths see the damage; chunk lengths set to odd values). Every case must either decode or throw
/// <see cref="ImageDecodeException"/> naming the file; any other exception fails the test with the case number.
/// </summary>
public class DecoderFuzzTests
{
    private static readonly string[] SyntheticSeeds =
    [
        "png/ct0_bd8_i0_33x17.png", "png/ct0_bd16_i1_33x17.png", "png/ct2_bd8_i1_33x17.png", "png/ct2_bd16_i0_13x7.png",
        "png/ct3_bd4_i1_33x17_trns.png", "png/ct3_bd1_i0_13x7_short.png", "png/ct4_bd8_i0_33x17.png", "png/ct6_bd16_i1_33x17.png",
        "bmp/rgb24.bmp", "bmp/pal4.bmp", "bmp/rgba32_v4.bmp", "bmp/rgb555.bmp", "bmp/mono1.bmp",
    ];

    [Fact]
    public void SyntheticFilesNeverThrowAnythingElse()
    {
        var tally = new Tally();
        for (int i = 0; i < SyntheticSeeds.Length; i++)
        {
            string name = SyntheticSeeds[i];
            Fuzz(File.ReadAllBytes(ImagingFixtures.PathOf(name)), name, 150, seed: 17 + i, tally);
        }
        tally.Check(1900);
    }

    [SharedDataFact]
    public void RealFilesNeverThrowAnythingElse()
    {
        string data = Path.Combine(SharedData.Root!, "data");
        var lines = ImagingFixtures.RealTsv("real_decode.tsv");
        string[] picks =
        [
            .. lines.Where(l => l.Path.StartsWith("mtd/", StringComparison.Ordinal) && l.Path.EndsWith(".jpg", StringComparison.Ordinal)).Take(3).Select(l => l.Path),
            .. lines.Where(l => l.Path.StartsWith("mtd/", StringComparison.Ordinal) && l.Path.EndsWith(".png", StringComparison.Ordinal)).Take(3).Select(l => l.Path),
        ];
        Assert.Equal(6, picks.Length);
        var tally = new Tally();
        for (int i = 0; i < picks.Length; i++)
        {
            Fuzz(File.ReadAllBytes(Path.Combine(data, picks[i])), picks[i], 300, seed: 1000 + i, tally);
        }
        tally.Check(1800);
    }

    /// <summary>Outcome counts, so that a fuzz run which never reaches the deeper decoding paths is noticed.</summary>
    private sealed class Tally
    {
        public int Cases, Decoded, Rejected, RejectedInsideZlib;

        public void Check(int minimumCases)
        {
            Assert.True(Cases >= minimumCases, $"{Cases} cases");
            Assert.True(Decoded > 0 && Rejected > 0, $"decoded {Decoded}, rejected {Rejected}");
            Assert.True(RejectedInsideZlib > 0, "no mutation reached the inflate stage");
        }
    }

    private static void Fuzz(byte[] original, string name, int count, int seed, Tally tally)
    {
        var rng = new Random(seed);
        Assert.NotNull(ImageDecoder.Decode(original, name)); // the unmutated file decodes
        for (int i = 0; i < count; i++)
        {
            byte[] mutated = Mutate(original, rng, out string how);
            string label = $"{name}#{i}";
            try
            {
                tally.Cases++;
                ImageDecoder.Decode(mutated, label);
                tally.Decoded++;
            }
            catch (ImageDecodeException e)
            {
                tally.Rejected++;
                if (e.InnerException is InvalidDataException or IOException) tally.RejectedInsideZlib++;
                Assert.True(e.FileName == label && e.Message.StartsWith(label, StringComparison.Ordinal), $"{label} ({how}): exception does not name the file: {e.Message}");
            }
            catch (Exception e)
            {
                Assert.Fail($"{label} (seed {seed}, {how}): {e.GetType().Name}: {e.Message}");
            }
        }
    }

    private static byte[] Mutate(byte[] src, Random rng, out string how)
    {
        byte[] d = (byte[])src.Clone();
        switch (rng.Next(7))
        {
            case 0:
                how = "truncate";
                return d[..rng.Next(d.Length)];
            case 1:
            {
                int flips = 1 + rng.Next(4);
                how = $"flip {flips} bits";
                for (int k = 0; k < flips; k++) d[rng.Next(d.Length)] ^= (byte)(1 << rng.Next(8));
                return d;
            }
            case 2:
            {
                int at = rng.Next(d.Length), n = Math.Min(1 + rng.Next(16), d.Length - at);
                how = $"overwrite {n} bytes at {at}";
                rng.NextBytes(d.AsSpan(at, n));
                return d;
            }
            case 3:
            {
                int at = rng.Next(d.Length), n = 1 + rng.Next(8);
                how = $"insert {n} bytes at {at}";
                byte[] extra = new byte[n];
                rng.NextBytes(extra);
                return [.. d[..at], .. extra, .. d[at..]];
            }
            case 4:
            {
                int at = rng.Next(d.Length), n = Math.Min(1 + rng.Next(8), d.Length - at);
                how = $"delete {n} bytes at {at}";
                return [.. d[..at], .. d[(at + n)..]];
            }
            default:
                return MutatePngChunk(d, rng, out how);
        }
    }

    /// <summary>For PNGs: damages one chunk's data (recomputing its CRC) or its length field; other formats get a byte overwrite.</summary>
    private static byte[] MutatePngChunk(byte[] d, Random rng, out string how)
    {
        if (ImageDecoder.DetectFormat(d) != ImageFormat.Png)
        {
            int at = rng.Next(Math.Min(d.Length, 64));
            how = $"header byte {at}";
            d[at] = (byte)rng.Next(256);
            return d;
        }
        var chunks = new List<(int Pos, int Len)>();
        for (int pos = 8; pos + 12 <= d.Length;)
        {
            int len = (int)BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(pos));
            chunks.Add((pos, len));
            pos += 12 + len;
        }
        var (p, l) = chunks[rng.Next(chunks.Count)];
        string type = System.Text.Encoding.ASCII.GetString(d, p + 4, 4);
        if (rng.Next(4) == 0 || l == 0)
        {
            uint value = rng.Next(3) switch { 0 => (uint)rng.Next(), 1 => (uint)(l + rng.Next(-4, 5)), _ => 0xFFFFFFFF };
            how = $"{type} length -> {value}";
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(p), value);
            return d;
        }
        int n = 1 + rng.Next(Math.Min(4, l));
        for (int k = 0; k < n; k++) d[p + 8 + rng.Next(l)] = (byte)rng.Next(256);
        how = $"{type} data x{n}, CRC fixed";
        uint crc = PngCrc(d.AsSpan(p + 4, 4 + l));
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(p + 8 + l), crc);
        return d;
    }

    private static uint PngCrc(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }
}
