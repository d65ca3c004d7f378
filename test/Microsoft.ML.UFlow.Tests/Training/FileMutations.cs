using System.Buffers.Binary;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// Seeded mutations of a saved file for fuzzing its reader: truncations, bit flips, 32-bit integers overwritten with
/// extreme values, and a byte changed plus a cut tail. Half of the positions fall in the first 160 bytes, where the
/// sizes and counts of the formats live.
/// </summary>
internal static class FileMutations
{
    private static readonly int[] Extremes = [0, -1, 1, int.MaxValue, int.MinValue, 1 << 20, 1 << 30, 65_537, 255];

    /// <summary>Mutation number <paramref name="i"/> of <paramref name="original"/> (the kind cycles with i).</summary>
    public static byte[] Mutate(byte[] original, Random random, int i)
    {
        int Position(int room) => random.Next(2) == 0 ? random.Next(Math.Min(160, room)) : random.Next(room);
        switch (i % 4)
        {
            case 0:
                return original[..random.Next(original.Length)];
            case 1:
            {
                byte[] b = original.ToArray();
                int flips = 1 + random.Next(3);
                for (int f = 0; f < flips; f++) b[Position(b.Length)] ^= (byte)(1 << random.Next(8));
                return b;
            }
            case 2:
            {
                byte[] b = original.ToArray();
                int at = Position(b.Length - 4);
                BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(at), Extremes[random.Next(Extremes.Length)]);
                return b;
            }
            default:
            {
                byte[] b = original.ToArray();
                b[Position(b.Length)] = (byte)random.Next(256);
                return b[..(b.Length - random.Next(Math.Min(64, b.Length)))];
            }
        }
    }
}
