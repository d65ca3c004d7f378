namespace Microsoft.ML.UFlow.Scoring;

/// <summary>
/// The per-scale part of the tree NFA (METHOD.md A.7.2–A.7.4) on one H×W map of chi-square statistics: the
/// 4-connected max-tree (union-find in decreasing order, equal-valued pixels of one level component folded into a
/// single node), the region size and log10 PFA of every node, and the official prune/merge iteration, evaluated
/// in one bottom-up pass that gives the same final regions (see <see cref="ComputeFinalRegions"/>).
/// Owns its work buffers: after the first map of a given size no allocation happens. Not thread-safe.
/// </summary>
internal sealed class NfaComponentTree
{
    private int _count, _root;
    private float[] _value = [];
    private float[] _sortKeys = [];
    private int[] _ascending = [];   // pixel indices sorted by increasing value: parents come before children
    private int[] _parent = [];      // parent pixel; after Build, a node's parent is the canonical pixel of its parent node
    private int[] _unionFind = [];
    private int[] _area = [];
    private int[] _childCount = [];
    private double[] _logPfa = [];
    private int[] _subtreeRepresentative = []; // bottom-up state: best node of a collapsed subtree, or Failed
    private double[] _minChildValue = [];
    private int[] _onlyChildRepresentative = [];
    private bool[] _childFailed = [];
    private bool[] _isFinal = [];
    private int[] _finalRegions = [];
    private int _finalRegionCount;

    private const int Failed = -1;

    /// <summary>Number of pixels of the current map.</summary>
    public int PixelCount => _count;

    /// <summary>The root node (a pixel of the global minimum).</summary>
    public int Root => _root;

    /// <summary>True when pixel <paramref name="p"/> is the canonical pixel of a node (ties folded into it otherwise).</summary>
    public bool IsNode(int p) => p == _root || _value[_parent[p]] != _value[p];

    /// <summary>The canonical pixel of the node containing pixel <paramref name="p"/> as one of its own pixels.</summary>
    public int NodeOf(int p) => IsNode(p) ? p : _parent[p];

    /// <summary>The parent node of node <paramref name="node"/> (the root is its own parent).</summary>
    public int Parent(int node) => _parent[node];

    /// <summary>|R|: the number of pixels in the region (component) of node <paramref name="node"/>.</summary>
    public int Area(int node) => _area[node];

    /// <summary>Number of child nodes of node <paramref name="node"/> in the original tree.</summary>
    public int ChildCount(int node) => _childCount[node];

    /// <summary>log10 PFA of node <paramref name="node"/> (valid after <see cref="ComputeFinalRegions"/>).</summary>
    public double LogPfa(int node) => _logPfa[node];

    /// <summary>The final regions of the last <see cref="ComputeFinalRegions"/> call, as their node pixels.</summary>
    public ReadOnlySpan<int> FinalRegions => _finalRegions.AsSpan(0, _finalRegionCount);

    /// <summary>Builds the max-tree of <paramref name="statistic"/> (row-major <paramref name="height"/>×<paramref name="width"/>).</summary>
    public void Build(ReadOnlySpan<float> statistic, int height, int width)
    {
        int n = height * width;
        if (height <= 0 || width <= 0 || statistic.Length != n)
        {
            throw new ArgumentException($"The statistic map has {statistic.Length} values but the scale is {height}x{width}.", nameof(statistic));
        }
        EnsureCapacity(n);
        _count = n;
        statistic.CopyTo(_value);
        for (int p = 0; p < n; p++)
        {
            if (!float.IsFinite(_value[p]) || _value[p] < 0)
            {
                throw new ArgumentException($"The chi-square statistic at pixel {p} (row {p / width}, column {p % width}) is {_value[p]}; it must be finite and ≥ 0.", nameof(statistic));
            }
            _ascending[p] = p;
        }
        // Sorting a copy of the keys keeps _value in pixel order; the order among equal values is irrelevant
        // because equal-valued pixels of one component are folded into one node below.
        Span<float> keys = _sortKeys.AsSpan(0, n);
        statistic.CopyTo(keys);
        keys.Sort(_ascending.AsSpan(0, n));

        int[] parent = _parent, uf = _unionFind;
        Array.Fill(uf, -1, 0, n);
        for (int i = n - 1; i >= 0; i--)
        {
            int p = _ascending[i];
            parent[p] = p;
            uf[p] = p;
            int row = p / width, col = p - row * width;
            if (col > 0) Attach(p, p - 1);
            if (col < width - 1) Attach(p, p + 1);
            if (row > 0) Attach(p, p - width);
            if (row < height - 1) Attach(p, p + width);
        }
        _root = _ascending[0];

        // Canonicalisation (parents are visited before children in increasing order): every pixel ends up pointing
        // to the canonical pixel of its level component, and canonical pixels to the canonical pixel of their parent node.
        for (int i = 0; i < n; i++)
        {
            int p = _ascending[i];
            int q = parent[p];
            if (_value[parent[q]] == _value[q])
            {
                parent[p] = parent[q];
            }
        }

        Array.Fill(_area, 1, 0, n);
        Array.Clear(_childCount, 0, n);
        for (int i = n - 1; i >= 1; i--)
        {
            int p = _ascending[i];
            _area[parent[p]] += _area[p];
        }
        for (int i = 1; i < n; i++)
        {
            int p = _ascending[i];
            if (_value[parent[p]] != _value[p])
            {
                _childCount[parent[p]]++;
            }
        }
    }

    // Union-find step of the max-tree: a processed neighbour's current component hangs below p.
    private void Attach(int p, int neighbour)
    {
        if (_unionFind[neighbour] < 0)
        {
            return;
        }
        int r = Find(neighbour);
        if (r != p)
        {
            _parent[r] = p;
            _unionFind[r] = p;
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
        int[] parent = _parent;
        for (int i = 0; i < n; i++)
        {
            int p = _ascending[i];
            if (IsNode(p))
            {
                _logPfa[p] = ChernoffChiSquare.Log10Pfa(_area[p], _value[p], channels, underDispersionGuard);
                _minChildValue[p] = double.PositiveInfinity;
                _childFailed[p] = false;
                _isFinal[p] = false;
            }
        }

        // Bottom-up: children are decided before their parent (decreasing value order).
        for (int i = n - 1; i >= 0; i--)
        {
            int v = _ascending[i];
            if (!IsNode(v))
            {
                continue;
            }
            int representative;
            int children = _childCount[v];
            if (children == 0)
            {
                representative = v;
            }
            else if (_childFailed[v])
            {
                representative = Failed;
            }
            else if (children == 1)
            {
                int below = _onlyChildRepresentative[v];
                representative = _logPfa[v] < _logPfa[below] ? v : below; // first from the leaf on ties
            }
            else
            {
                representative = _logPfa[v] <= _minChildValue[v] ? v : Failed;
            }
            _subtreeRepresentative[v] = representative;
            if (v != _root)
            {
                int up = parent[v];
                if (representative == Failed)
                {
                    _childFailed[up] = true;
                }
                else
                {
                    _minChildValue[up] = Math.Min(_minChildValue[up], _logPfa[representative]);
                    _onlyChildRepresentative[up] = representative;
                }
            }
        }

        // A collapsed subtree is a final region when it is the whole tree or its parent never merges.
        _finalRegionCount = 0;
        for (int i = 0; i < n; i++)
        {
            int v = _ascending[i];
            if (!IsNode(v) || _subtreeRepresentative[v] == Failed)
            {
                continue;
            }
            if (v == _root || _subtreeRepresentative[parent[v]] == Failed)
            {
                int r = _subtreeRepresentative[v];
                _isFinal[r] = true;
                _finalRegions[_finalRegionCount++] = r;
            }
        }

        // Top-down painting: a pixel takes the value of the final region among its ancestors (regions are disjoint).
        for (int i = 0; i < n; i++)
        {
            int p = _ascending[i];
            float label;
            if (IsNode(p) && _isFinal[p])
            {
                label = (float)_logPfa[p];
            }
            else if (p == _root)
            {
                label = float.NaN;
            }
            else
            {
                label = logPfaMap[parent[p]];
            }
            logPfaMap[p] = label;
        }
    }

    private void EnsureCapacity(int n)
    {
        if (_value.Length >= n)
        {
            return;
        }
        _value = new float[n];
        _sortKeys = new float[n];
        _ascending = new int[n];
        _parent = new int[n];
        _unionFind = new int[n];
        _area = new int[n];
        _childCount = new int[n];
        _logPfa = new double[n];
        _subtreeRepresentative = new int[n];
        _minChildValue = new double[n];
        _onlyChildRepresentative = new int[n];
        _childFailed = new bool[n];
        _isFinal = new bool[n];
        _finalRegions = new int[n];
    }
}
