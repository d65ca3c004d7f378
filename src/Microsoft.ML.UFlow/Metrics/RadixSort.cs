namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// Stable LSD radix sort of 64-bit words by their upper 32 bits only (3 passes of 11/11/10 bits; passes whose digit is
/// the same for every word are skipped). The order of words with equal upper halves is their input order, which is
/// all the metrics need: they group equal scores and never look at the order inside a group.
/// </summary>
internal static class RadixSort
{
    private const int Bits = 11;
    private const int Buckets = 1 << Bits;

    /// <summary>Sorts <paramref name="data"/> ascending by (word &gt;&gt; 32); <paramref name="scratch"/> must be at least as long.</summary>
    public static void SortByHighHalf(Span<ulong> data, Span<ulong> scratch)
    {
        int n = data.Length;
        if (n < 2) return;
        if (scratch.Length < n) throw new ArgumentException("Scratch buffer too small.", nameof(scratch));
        scratch = scratch[..n];
        Span<int> counts = stackalloc int[3 * Buckets]; // 24 KB, zeroed
        for (int i = 0; i < n; i++)
        {
            ulong v = data[i];
            counts[(int)(v >> 32) & (Buckets - 1)]++;
            counts[Buckets + ((int)(v >> (32 + Bits)) & (Buckets - 1))]++;
            counts[2 * Buckets + (int)(v >> (32 + 2 * Bits))]++;
        }
        Span<ulong> source = data, target = scratch;
        for (int pass = 0; pass < 3; pass++)
        {
            Span<int> count = counts.Slice(pass * Buckets, Buckets);
            int shift = 32 + pass * Bits;
            if (count[(int)(source[0] >> shift) & (Buckets - 1)] == n) continue; // one digit value only: nothing moves
            ToStartOffsets(count);
            for (int i = 0; i < n; i++)
            {
                ulong v = source[i];
                target[count[(int)(v >> shift) & (Buckets - 1)]++] = v;
            }
            Span<ulong> t = source;
            source = target;
            target = t;
        }
        if (source != data) source.CopyTo(data);
    }

    /// <summary>Sorts 32-bit keys ascending; <paramref name="scratch"/> must be at least as long.</summary>
    public static void Sort(Span<uint> data, Span<uint> scratch)
    {
        int n = data.Length;
        if (n < 2) return;
        if (scratch.Length < n) throw new ArgumentException("Scratch buffer too small.", nameof(scratch));
        scratch = scratch[..n];
        Span<int> counts = stackalloc int[3 * Buckets]; // 24 KB, zeroed
        for (int i = 0; i < n; i++)
        {
            uint v = data[i];
            counts[(int)(v & (Buckets - 1))]++;
            counts[Buckets + (int)((v >> Bits) & (Buckets - 1))]++;
            counts[2 * Buckets + (int)(v >> (2 * Bits))]++;
        }
        Span<uint> source = data, target = scratch;
        for (int pass = 0; pass < 3; pass++)
        {
            Span<int> count = counts.Slice(pass * Buckets, Buckets);
            int shift = pass * Bits;
            if (count[(int)(source[0] >> shift) & (Buckets - 1)] == n) continue;
            ToStartOffsets(count);
            for (int i = 0; i < n; i++)
            {
                uint v = source[i];
                target[count[(int)(v >> shift) & (Buckets - 1)]++] = v;
            }
            Span<uint> t = source;
            source = target;
            target = t;
        }
        if (source != data) source.CopyTo(data);
    }

    // Turns per-digit counts into the index where each digit's run starts (exclusive prefix sum), in place.
    private static void ToStartOffsets(Span<int> count)
    {
        int sum = 0;
        for (int b = 0; b < count.Length; b++)
        {
            int c = count[b];
            count[b] = sum;
            sum += c;
        }
    }
}
