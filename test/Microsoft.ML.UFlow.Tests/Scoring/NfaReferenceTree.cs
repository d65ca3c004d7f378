using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow.Tests.Scoring;

/// <summary>
/// A deliberately literal, slow implementation of METHOD.md A.7.2–A.7.4 used as the reference for the fast tree:
/// nodes are explicit pixel sets (one per distinct level and 4-connected component of the upper level set), the
/// parent is the smallest strictly-lower-level component that contains the node, and prune/merge are iterated on an
/// explicit parent/children structure exactly as the driver describes.
/// </summary>
internal sealed class NfaReferenceTree
{
    public sealed class Node
    {
        public required float Level { get; init; }
        public required HashSet<int> Pixels { get; init; }
        public required int Id { get; init; }      // smallest own pixel index (own pixels = pixels at this level)
        public double LogPfa { get; set; }
    }

    private readonly List<Node> _nodes = [];
    private readonly Dictionary<Node, Node?> _parent = [];
    private readonly Dictionary<Node, List<Node>> _children = [];

    public Node Root { get; }

    /// <summary>Successful merges of the last driver run (the tests check that merges are exercised).</summary>
    public int Merges { get; private set; }

    /// <summary>Merge tests that failed in the last driver run.</summary>
    public int FailedMergeTests { get; private set; }

    public IReadOnlyList<Node> Nodes => _nodes;

    public Node? OriginalParent(Node n) => _originalParent[n];

    private readonly Dictionary<Node, Node?> _originalParent = [];

    public NfaReferenceTree(float[] x, int height, int width, int channels, bool guard)
    {
        int n = height * width;
        var byKey = new Dictionary<(float, int), Node>();
        for (int p = 0; p < n; p++)
        {
            HashSet<int> component = UpperComponent(x, height, width, p);
            int id = component.Where(q => x[q] == x[p]).Min();
            if (!byKey.ContainsKey((x[p], id)))
            {
                var node = new Node { Level = x[p], Pixels = component, Id = id };
                node.LogPfa = ReferenceLog10Pfa(component.Count, x[p], channels, guard);
                byKey[(x[p], id)] = node;
                _nodes.Add(node);
            }
        }
        Root = _nodes.OrderBy(v => v.Level).First();
        foreach (Node v in _nodes)
        {
            Node? parent = null;
            int anyPixel = v.Pixels.First();
            foreach (Node m in _nodes)
            {
                if (m.Level < v.Level && m.Pixels.Contains(anyPixel) && (parent is null || m.Level > parent.Level))
                {
                    parent = m;
                }
            }
            _parent[v] = parent;
            _originalParent[v] = parent;
            _children[v] = [];
        }
        foreach (Node v in _nodes)
        {
            if (_parent[v] is Node p)
            {
                _children[p].Add(v);
            }
        }
    }

    /// <summary>
    /// METHOD.md A.7.3 written independently of <see cref="ChernoffChiSquare"/>: with u = x/C, one pixel's Chernoff
    /// bound is P(χ²_C ≥ x) ≤ (u·e^{1−u})^{C/2}, so log10 of it is (C/2)·(log10 u + (1 − u)·log10 e); independence over
    /// the |R| pixels multiplies it by |R|. The optional guard (A.7.8) makes the bound 0 (probability 1) for u ≤ 1.
    /// </summary>
    internal static double ReferenceLog10Pfa(int regionSize, double minimumStatistic, int channels, bool guard)
    {
        double u = minimumStatistic / channels;
        if (guard && u <= 1.0) return 0.0;
        double log10Bound = channels / 2.0 * (Math.Log10(u) + (1.0 - u) * Math.Log10(Math.E));
        return regionSize * log10Bound;
    }

    private static HashSet<int> UpperComponent(float[] x, int height, int width, int start)
    {
        float level = x[start];
        var seen = new HashSet<int> { start };
        var queue = new Queue<int>();
        queue.Enqueue(start);
        while (queue.Count > 0)
        {
            int p = queue.Dequeue();
            int r = p / width, c = p % width;
            foreach ((int rr, int cc) in new[] { (r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1) })
            {
                if (rr < 0 || rr >= height || cc < 0 || cc >= width) continue;
                int q = rr * width + cc;
                if (x[q] >= level && seen.Add(q)) queue.Enqueue(q);
            }
        }
        return seen;
    }

    private IEnumerable<Node> Alive => _parent.Keys;

    private List<Node> Branch(Node leaf)
    {
        var branch = new List<Node> { leaf };
        Node current = leaf;
        while (_parent[current] is Node p && _children[p].Count == 1)
        {
            current = p;
            branch.Add(current);
        }
        return branch;
    }

    private void Delete(Node d)
    {
        Node? p = _parent[d];
        foreach (Node c in _children[d])
        {
            _parent[c] = p;
            if (p is not null) _children[p].Add(c);
        }
        if (p is not null) _children[p].Remove(d);
        _parent.Remove(d);
        _children.Remove(d);
    }

    private void Prune()
    {
        List<Node> leaves = Alive.Where(v => _children[v].Count == 0).ToList();
        foreach (Node leaf in leaves)
        {
            List<Node> branch = Branch(leaf);
            Node best = branch[0];
            foreach (Node v in branch)
            {
                if (v.LogPfa < best.LogPfa) best = v;
            }
            foreach (Node v in branch)
            {
                if (v != best) Delete(v);
            }
        }
    }

    private bool Merge()
    {
        List<Node> candidates = Alive
            .Where(b => _children[b].Count >= 2 && _children[b].All(c => _children[c].Count == 0))
            .ToList();
        bool merged = false;
        foreach (Node b in candidates)
        {
            if (b.LogPfa <= _children[b].Min(c => c.LogPfa))
            {
                foreach (Node c in _children[b].ToList()) Delete(c);
                merged = true;
                Merges++;
            }
            else
            {
                FailedMergeTests++;
            }
        }
        return merged;
    }

    /// <summary>Runs the driver and returns the final regions (node, its original pixel set).</summary>
    public List<Node> FinalRegions()
    {
        Prune();
        bool merged = Merge();
        while (merged)
        {
            Prune();
            merged = Merge();
        }
        Prune();
        var result = new List<Node>();
        foreach (Node leaf in Alive.Where(v => _children[v].Count == 0).ToList())
        {
            List<Node> branch = Branch(leaf);
            Node best = branch[0];
            foreach (Node v in branch)
            {
                if (v.LogPfa < best.LogPfa) best = v;
            }
            result.Add(best);
        }
        return result;
    }

    /// <summary>The per-scale map: log10 PFA of the final region containing each pixel, NaN elsewhere.</summary>
    public float[] Map(int n)
    {
        var map = new float[n];
        Array.Fill(map, float.NaN);
        foreach (Node r in FinalRegions())
        {
            foreach (int p in r.Pixels)
            {
                Assert.True(float.IsNaN(map[p]), "final regions must be disjoint");
                map[p] = (float)r.LogPfa;
            }
        }
        return map;
    }
}
