namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// Streams the union of several runs, each sorted ascending by the upper 32 bits of its words, in ascending order of
/// those upper halves (k-way merge with a binary min-heap of run heads), so that the global order is visited without
/// concatenating the runs into a second copy. Output comes in segments: the longest stretch of the top run whose
/// keys do not exceed the next-best head, which costs one heap update per segment instead of one per word.
/// </summary>
internal sealed class SortedRunMerger
{
    private readonly IReadOnlyList<ulong[]> _runs;
    private readonly ulong[] _heap;   // (head key << 32) | run index: one array, compared as integers
    private readonly int[] _position; // next index per run
    private int _size;

    public SortedRunMerger(IReadOnlyList<ulong[]> runs)
    {
        _runs = runs;
        _heap = new ulong[runs.Count];
        _position = new int[runs.Count];
        for (int r = 0; r < runs.Count; r++)
        {
            if (runs[r].Length == 0) continue;
            _heap[_size++] = (runs[r][0] & 0xFFFF_FFFF_0000_0000UL) | (uint)r;
        }
        for (int i = _size / 2 - 1; i >= 0; i--) SiftDown(i, _heap[i]);
    }

    /// <summary>
    /// Gets the next segment: words whose keys are ≥ every key returned before and ≤ every key still to come.
    /// False when every run is exhausted.
    /// </summary>
    public bool TryNextSegment(out ReadOnlySpan<ulong> segment)
    {
        if (_size == 0)
        {
            segment = default;
            return false;
        }
        int r = (int)(uint)_heap[0];
        ulong[] run = _runs[r];
        int start = _position[r];
        ulong bound = ulong.MaxValue; // the smallest head among the other runs
        if (_size > 1) bound = _heap[1];
        if (_size > 2 && _heap[2] < bound) bound = _heap[2];
        uint boundKey = (uint)(bound >> 32);
        int end = start + 1;
        while (end < run.Length && (uint)(run[end] >> 32) <= boundKey) end++;
        segment = new ReadOnlySpan<ulong>(run, start, end - start);
        _position[r] = end;
        if (end < run.Length)
        {
            SiftDown(0, (run[end] & 0xFFFF_FFFF_0000_0000UL) | (uint)r);
        }
        else
        {
            ulong last = _heap[--_size];
            if (_size > 0) SiftDown(0, last);
        }
        return true;
    }

    // Places item at position i and restores the heap below it.
    private void SiftDown(int i, ulong item)
    {
        ulong[] heap = _heap;
        int size = _size;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= size) break;
            ulong c = heap[child];
            if (child + 1 < size && heap[child + 1] < c) c = heap[++child];
            if (c >= item) break;
            heap[i] = c;
            i = child;
        }
        heap[i] = item;
    }
}
