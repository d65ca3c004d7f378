namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// Streams the union of several ascending-sorted runs in ascending order (k-way merge with a binary min-heap of run
/// heads), so that a global sort order is visited without concatenating the runs into a second copy.
/// </summary>
internal sealed class SortedRunMerger
{
    private readonly IReadOnlyList<ulong[]> _runs;
    private readonly int[] _heap;     // run indices, min-heap on the run's current head
    private readonly ulong[] _head;   // current head value per run
    private readonly int[] _position; // next index per run
    private int _size;

    public SortedRunMerger(IReadOnlyList<ulong[]> runs)
    {
        _runs = runs;
        _heap = new int[runs.Count];
        _head = new ulong[runs.Count];
        _position = new int[runs.Count];
        for (int r = 0; r < runs.Count; r++)
        {
            if (runs[r].Length == 0) continue;
            _head[r] = runs[r][0];
            _heap[_size++] = r;
        }
        for (int i = _size / 2 - 1; i >= 0; i--) SiftDown(i);
    }

    /// <summary>Gets the next smallest value; false when every run is exhausted.</summary>
    public bool TryNext(out ulong value)
    {
        if (_size == 0)
        {
            value = 0;
            return false;
        }
        int r = _heap[0];
        value = _head[r];
        int next = ++_position[r];
        ulong[] run = _runs[r];
        if (next < run.Length)
        {
            _head[r] = run[next];
        }
        else
        {
            _heap[0] = _heap[--_size];
        }
        if (_size > 1) SiftDown(0);
        return true;
    }

    private void SiftDown(int i)
    {
        int item = _heap[i];
        ulong key = _head[item];
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= _size) break;
            int right = child + 1;
            if (right < _size && _head[_heap[right]] < _head[_heap[child]]) child = right;
            if (_head[_heap[child]] >= key) break;
            _heap[i] = _heap[child];
            i = child;
        }
        _heap[i] = item;
    }
}
