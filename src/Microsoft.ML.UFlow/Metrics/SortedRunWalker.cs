namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// Visits the union of several runs, each sorted ascending by the upper 32 bits (the key) of its words, in
/// ascending key order without concatenating the runs. The key space is cut into ranges (by 8 bits at a time, from
/// the top): a range holding a single key is passed straight from the runs; a range holding at most
/// <see cref="DefaultCapacity"/> words is gathered into a scratch buffer and radix-sorted; a bigger range is cut again.
/// Each run's part of a range is a contiguous slice found by binary search, so the work is linear in the words
/// (plus a few searches per range) and the extra memory is bounded by the scratch buffers, not by the total.
/// </summary>
internal static class SortedRunWalker
{
    /// <summary>Largest range gathered at once (words); two scratch buffers of this size are used.</summary>
    public const int DefaultCapacity = 1 << 21;

    public static void Walk<TSink>(IReadOnlyList<ulong[]> runs, ref TSink sink, int capacity = DefaultCapacity)
        where TSink : struct, ISegmentSink
    {
        long total = 0;
        foreach (var run in runs) total += run.Length;
        if (total == 0) return;
        int scratchSize = (int)Math.Min(total, capacity);
        var state = new State(runs, new ulong[scratchSize], new ulong[scratchSize]);
        Range(ref state, ref sink, 0, uint.MaxValue, 24);
    }

    private sealed class State(IReadOnlyList<ulong[]> runs, ulong[] gather, ulong[] scratch)
    {
        public readonly IReadOnlyList<ulong[]> Runs = runs;
        public readonly int[] Cursor = new int[runs.Count]; // everything before the cursor has been visited
        public readonly ulong[] Gather = gather;
        public readonly ulong[] Scratch = scratch;
    }

    // Visits every remaining word whose key is in [low, high]; the keys below low have all been visited.
    // 'shift' is the bit position of the next 8-bit digit used to cut the range.
    private static void Range<TSink>(ref State state, ref TSink sink, uint low, uint high, int shift)
        where TSink : struct, ISegmentSink
    {
        var runs = state.Runs;
        long count = 0;
        bool singleKey = true;
        uint onlyKey = 0;
        bool any = false;
        for (int r = 0; r < runs.Count; r++)
        {
            ulong[] run = runs[r];
            int start = state.Cursor[r];
            int end = UpperBound(run, start, high);
            if (end == start) continue;
            count += end - start;
            uint first = Key(run[start]), last = Key(run[end - 1]);
            if (!any)
            {
                onlyKey = first;
                any = true;
            }
            if (first != last || first != onlyKey) singleKey = false;
        }
        if (count == 0) return;

        if (singleKey)
        {
            for (int r = 0; r < runs.Count; r++)
            {
                ulong[] run = runs[r];
                int start = state.Cursor[r];
                int end = UpperBound(run, start, high);
                if (end == start) continue;
                sink.Consume(new ReadOnlySpan<ulong>(run, start, end - start));
                state.Cursor[r] = end;
            }
            return;
        }

        if (count <= state.Gather.Length || shift < 0)
        {
            // shift < 0 cannot hold more than one key, so it was handled above; the test is a guard.
            int n = 0;
            for (int r = 0; r < runs.Count; r++)
            {
                ulong[] run = runs[r];
                int start = state.Cursor[r];
                int end = UpperBound(run, start, high);
                if (end == start) continue;
                Array.Copy(run, start, state.Gather, n, end - start);
                n += end - start;
                state.Cursor[r] = end;
            }
            Span<ulong> gathered = state.Gather.AsSpan(0, n);
            RadixSort.SortByHighHalf(gathered, state.Scratch);
            sink.Consume(gathered);
            return;
        }

        // Too many words with several keys: cut [low, high] by the next 8-bit digit.
        uint step = 1u << shift;
        for (ulong sub = low; sub <= high; sub += step)
        {
            uint subHigh = (uint)Math.Min(sub + step - 1, high);
            Range(ref state, ref sink, (uint)sub, subHigh, shift - 8);
        }
    }

    private static uint Key(ulong word) => (uint)(word >> 32);

    // First index in [start, run.Length) whose key exceeds 'high'.
    private static int UpperBound(ulong[] run, int start, uint high)
    {
        int lo = start, hi = run.Length;
        if (lo == hi || Key(run[lo]) > high) return lo;
        if (Key(run[hi - 1]) <= high) return hi;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Key(run[mid]) <= high) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
