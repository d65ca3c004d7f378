namespace Microsoft.ML.UFlow.Scoring;

/// <summary>
/// The per-scale part of the tree NFA (METHOD.md A.7.2–A.7.4) on one H×W map of chi-square statistics: the
/// 4-connected max-tree (union-find in decreasing order, equal-valued pixels of one level component folded into a
/// single node), the region size and log10 PFA of every node, and the official prune/merge iteration, evaluated
/// in one bottom-up pass that gives the same final regions (see <see cref="ComputeFinalRegions"/>).
/// </summary>
/// <remarks>
/// Internally everything is indexed by rank in increasing order of the statistic (a stable radix sort of the float
/// bits), so that parents precede children and the passes over the tree are sequential. The public accessors take
/// and return pixel indices. Owns its work buffers: after the first map of a given size no allocation happens.
/// Not thread-safe.
/// </remarks>
internal sealed class NfaComponentTree
{
    private const int Failed = -1;

    private int _count;
    private uint[] _keys = [], _keysScratch = [];
    private int[] _pixelOfRank = [], _pixelScratch = [];
    private int[] _rankOfPixel = [];
    private float[] _value = [];     // statistic by rank (increasing)
    private int[] _parent = [];      // parent rank; after Build a node's parent is the canonical rank of its parent node
    private int[] _unionFind = [];
    private int[] _area = [];
    private int[] _childCount = [];
    private bool[] _isNode = [];
    private double[] _logPfa = [];
    private int[] _subtreeRepresentative = []; // bottom-up state: best node (rank) of a collapsed subtree, or Failed
    private double[] _minChildValue = [];
    private int[] _onlyChildRepresentative = [];
    private bool[] _childFailed = [];
    private float[] _label = [];
    private bool[] _isFinal = [];
    private int[] _finalRegions = [];
    private int _finalRegionCount;
    private readonly int[] _histogram = new int[256];

    /// <summary>Number of pixels of the current map.</summary>
    public int PixelCount => _count;

    /// <summary>The root node (a pixel of the global minimum).</summary>
    public int Root => _pixelOfRank[0];

    /// <summary>True when pixel <paramref name="p"/> is the canonical pixel of a node (ties folded into it otherwise).</summary>
    public bool IsNode(int p) => _isNode[_rankOfPixel[p]];

    /// <summary>The canonical pixel of the node containing pixel <paramref name="p"/> as one of its own pixels.</summary>
    public int NodeOf(int p)
    {
        int r = _rankOfPixel[p];
        return _isNode[r] ? p : _pixelOfRank[_parent[r]];
    }

    /// <summary>The parent node of node <paramref name="node"/> (the root is its own parent).</summary>
    public int Parent(int node) => _pixelOfRank[_parent[_rankOfPixel[node]]];

    /// <summary>|R|: the number of pixels in the region (component) of node <paramref name="node"/>.</summary>
    public int Area(int node) => _area[_rankOfPixel[node]];

    /// <summary>Number of child nodes of node <paramref name="node"/> in the original tree.</summary>
    public int ChildCount(int node) => _childCount[_rankOfPixel[node]];

    /// <summary>log10 PFA of node <paramref name="node"/> (valid after <see cref="ComputeFinalRegions"/>).</summary>
    public double LogPfa(int node) => _logPfa[_rankOfPixel[node]];

    /// <summary>The final regions of the last <see cref="ComputeFinalRegions"/> call, as their node pixels.</summary>
    public ReadOnlySpan<int> FinalRegions => _finalRegions.AsSpan(0, _finalRegionCount);

    /// <summary>Builds the max-tree of <paramref name="statistic"/> (row-major <paramref name="height"/>×<paramref name="width"/>).</summary>
    /// <exception cref="ArgumentException">The sizes do not match, or a value is negative, infinite or NaN.</exception>
    public void Build(ReadOnlySpan<float> statistic, int height, int width)
    {
        int n = height * width;
        if (height <= 0 || width <= 0 || statistic.Length != n)
        {
            throw new ArgumentException($"The statistic map has {statistic.Length} values but the scale is {height}x{width}.", nameof(statistic));
        }
        EnsureCapacity(n);
        _count = n;
        for (int p = 0; p < n; p++)
        {
            float v = statistic[p];
            if (!float.IsFinite(v) || v < 0)
            {
                throw new ArgumentException($"The chi-square statistic at pixel {p} (row {p / width}, column {p % width}) is {v}; it must be finite and ≥ 0.", nameof(statistic));
            }
            // The bits of a non-negative float order like its value (the sign bit is dropped so that −0 = +0).
            _keys[p] = BitConverter.SingleToUInt32Bits(v) & 0x7FFF_FFFFu;
            _pixelOfRank[p] = p;
        }
        RadixSort(n);

        int[] parent = _parent, uf = _unionFind, rankOf = _rankOfPixel;
        float[] value = _value;
        for (int i = 0; i < n; i++)
        {
            int p = _pixelOfRank[i];
            rankOf[p] = i;
            value[i] = statistic[p];
        }

        // Union-find in decreasing order: ranks above i are already processed; a neighbour's current component
        // hangs below i. Equal values in any order give the same tree after canonicalisation.
        for (int i = n - 1; i >= 0; i--)
        {
            int p = _pixelOfRank[i];
            parent[i] = i;
            uf[i] = i;
            int row = p / width, col = p - row * width;
            if (col > 0) Attach(i, rankOf[p - 1]);
            if (col < width - 1) Attach(i, rankOf[p + 1]);
            if (row > 0) Attach(i, rankOf[p - width]);
            if (row < height - 1) Attach(i, rankOf[p + width]);
        }

        // Canonicalisation, parents first: every rank ends up pointing to the canonical rank of its level component,
        // and canonical ranks to the canonical rank of their parent node. Rank 0 (a global minimum) is the root.
        _isNode[0] = true;
        for (int i = 1; i < n; i++)
        {
            int q = parent[i];
            if (value[parent[q]] == value[q])
            {
                parent[i] = parent[q];
            }
            _isNode[i] = value[parent[i]] != value[i];
        }

        Array.Fill(_area, 1, 0, n);
        Array.Clear(_childCount, 0, n);
        for (int i = n - 1; i >= 1; i--)
        {
            _area[parent[i]] += _area[i];
            if (_isNode[i])
            {
                _childCount[parent[i]]++;
            }
        }
    }

    private void Attach(int i, int neighbour)
    {
        if (neighbour <= i)
        {
            return; // not processed yet
        }
        int r = Find(neighbour);
        if (r != i)
        {
            _parent[r] = i;
            _unionFind[r] = i;
        }
    }

    private int Find(int p)
    {
        int[] uf = _unionFind;
        int r = p;
        while (uf[r] != r) r = uf[r];
        while (uf[p] != r)
        {
            int next = uf[p];
            uf[p] = r;
            p = next;
        }
        return r;
    }

    // Stable LSD radix sort of (_keys, _pixelOfRank) by key, one byte per pass; passes where all keys share the
    // byte (usually the exponent byte) are skipped.
    private void RadixSort(int n)
    {
        uint[] keys = _keys, keysOut = _keysScratch;
        int[] items = _pixelOfRank, itemsOut = _pixelScratch;
        int[] histogram = _histogram;
        for (int shift = 0; shift < 32; shift += 8)
        {
            Array.Clear(histogram);
            for (int k = 0; k < n; k++)
            {
                histogram[(keys[k] >> shift) & 0xFF]++;
            }
            if (histogram[(keys[0] >> shift) & 0xFF] == n)
            {
                continue;
            }
            int sum = 0;
            for (int b = 0; b < 256; b++)
            {
                int c = histogram[b];
                histogram[b] = sum;
                sum += c;
            }
            for (int k = 0; k < n; k++)
            {
                uint key = keys[k];
                int slot = histogram[(key >> shift) & 0xFF]++;
                keysOut[slot] = key;
                itemsOut[slot] = items[k];
            }
            (keys, keysOut) = (keysOut, keys);
            (items, itemsOut) = (itemsOut, items);
        }
        if (!ReferenceEquals(items, _pixelOfRank))
        {
            items.AsSpan(0, n).CopyTo(_pixelOfRank);
        }
    }

    /// <summary>
    /// Computes log10 PFA of every node for <paramref name="channels"/> degrees of freedom, runs the official
    /// prune/merge procedure and writes the per-scale map: the log10 PFA of the final region containing each pixel,
    /// or NaN where the pixel is in no final region.
    /// </summary>
    /// <remarks>
    /// Equivalence with the iterated procedure (METHOD.md A.7.4), which the tests check against a literal
    /// implementation: a leaf's branch is the single-child chain above it, and prune keeps its minimum (first from the
    /// leaf on ties). A bifurcation b is merged when, once all its child subtrees have collapsed to leaves,
    /// log10 PFA(b) ≤ their minimum; b then starts a new branch with its own value. If the test fails (or a child
    /// subtree never collapses) b keeps its children forever and so do all its ancestors, whose collapsed child
    /// subtrees become final regions. The timing of the passes therefore does not change the outcome, and one pass
    /// from the leaves to the root decides every node.
    /// </remarks>
    public void ComputeFinalRegions(int channels, bool underDispersionGuard, Span<float> logPfaMap)
    {
        if (channels <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "The number of channels must be positive.");
        }
        int n = _count;
        if (logPfaMap.Length != n)
        {
            throw new ArgumentException($"The map has {logPfaMap.Length} values but the scale has {n} pixels.", nameof(logPfaMap));
        }
        int[] parent = _parent, representativeOf = _subtreeRepresentative;
        bool[] isNode = _isNode;
        double[] logPfa = _logPfa;
        for (int i = 0; i < n; i++)
        {
            if (isNode[i])
            {
                logPfa[i] = ChernoffChiSquare.Log10Pfa(_area[i], _value[i], channels, underDispersionGuard);
                _minChildValue[i] = double.PositiveInfinity;
                _childFailed[i] = false;
            }
        }

        // Bottom-up: children (higher ranks) are decided before their parent.
        for (int i = n - 1; i >= 0; i--)
        {
            if (!isNode[i])
            {
                continue;
            }
            int representative;
            int children = _childCount[i];
            if (children == 0)
            {
                representative = i;
            }
            else if (_childFailed[i])
            {
                representative = Failed;
            }
            else if (children == 1)
            {
                int below = _onlyChildRepresentative[i];
                representative = logPfa[i] < logPfa[below] ? i : below; // first from the leaf on ties
            }
            else
            {
                representative = logPfa[i] <= _minChildValue[i] ? i : Failed;
            }
            representativeOf[i] = representative;
            if (i != 0)
            {
                int up = parent[i];
                if (representative == Failed)
                {
                    _childFailed[up] = true;
                }
                else
                {
                    _minChildValue[up] = Math.Min(_minChildValue[up], logPfa[representative]);
                    _onlyChildRepresentative[up] = representative;
                }
            }
        }

        // A collapsed subtree is a final region when it is the whole tree or its parent never merges. Labels are
        // painted top-down (parents first): a rank takes the value of the final region among its ancestors, if any.
        float[] label = _label;
        Array.Clear(_isFinal, 0, n);
        _finalRegionCount = 0;
        if (representativeOf[0] != Failed)
        {
            MarkFinal(representativeOf[0]);
        }
        for (int i = 1; i < n; i++)
        {
            if (isNode[i] && representativeOf[i] != Failed && representativeOf[parent[i]] == Failed)
            {
                MarkFinal(representativeOf[i]);
            }
        }
        for (int i = 0; i < n; i++)
        {
            label[i] = _isFinal[i] ? (float)logPfa[i] : i == 0 ? float.NaN : label[parent[i]];
            logPfaMap[_pixelOfRank[i]] = label[i];
        }
    }

    private void MarkFinal(int rank)
    {
        _isFinal[rank] = true;
        _finalRegions[_finalRegionCount++] = _pixelOfRank[rank];
    }

    private void EnsureCapacity(int n)
    {
        if (_value.Length >= n)
        {
            return;
        }
        _keys = new uint[n];
        _keysScratch = new uint[n];
        _pixelOfRank = new int[n];
        _pixelScratch = new int[n];
        _rankOfPixel = new int[n];
        _value = new float[n];
        _parent = new int[n];
        _unionFind = new int[n];
        _area = new int[n];
        _childCount = new int[n];
        _isNode = new bool[n];
        _logPfa = new double[n];
        _subtreeRepresentative = new int[n];
        _minChildValue = new double[n];
        _onlyChildRepresentative = new int[n];
        _childFailed = new bool[n];
        _label = new float[n];
        _isFinal = new bool[n];
        _finalRegions = new int[n];
    }
}
