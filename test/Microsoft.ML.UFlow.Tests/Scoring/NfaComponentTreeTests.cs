using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow.Tests.Scoring;

public class NfaComponentTreeTests
{
    // METHOD.md A.7.7: C = 4, 5×5 grid, X row-major.
    private static readonly float[] UnitVector =
    [
        3.1f, 3.5f, 4.2f, 3.9f, 2.8f,
        3.7f, 9.0f, 12.5f, 4.4f, 3.3f,
        4.1f, 11.0f, 20.0f, 6.0f, 3.6f,
        3.8f, 5.2f, 7.5f, 4.6f, 3.0f,
        2.9f, 3.4f, 4.0f, 14.0f, 3.2f,
    ];

    [Fact]
    public void UnitVectorTreeLogPfaAndFinalRegionsMatchMethodA77()
    {
        var tree = new NfaComponentTree();
        tree.Build(UnitVector, 5, 5);
        var map = new float[25];
        tree.ComputeFinalRegions(4, underDispersionGuard: false, map);

        Assert.Equal(4, tree.Root);
        Assert.Equal(25, tree.Area(4));
        Assert.Equal(-1.2307, tree.LogPfa(4), 4);

        // Branch of leaf 12 up to (excluding) bifurcation 18, with the log10 PFA of each node.
        int[] branch = [12, 7, 11, 6, 17, 13, 16];
        double[] expected = [-2.0764, -1.7121, -1.9241, -1.5255, -1.0701, -0.4927, -0.2288];
        Assert.Equal(0, tree.ChildCount(12));
        Assert.Equal(1, tree.Area(12));
        for (int i = 0; i < branch.Length; i++)
        {
            Assert.True(tree.IsNode(branch[i]));
            Assert.Equal(expected[i], tree.LogPfa(branch[i]), 4);
            Assert.Equal(i + 1, tree.Area(branch[i]));
            Assert.Equal(i == branch.Length - 1 ? 18 : branch[i + 1], tree.Parent(branch[i]));
            if (i > 0) Assert.Equal(1, tree.ChildCount(branch[i]));
        }
        Assert.Equal(2, tree.ChildCount(18));
        Assert.Equal(9, tree.Area(18));
        Assert.Equal(-0.0800, tree.LogPfa(18), 4);
        Assert.Equal(18, tree.Parent(23));
        Assert.Equal(0, tree.ChildCount(23));
        Assert.Equal(-1.0833, tree.LogPfa(23), 4);

        Assert.Equal([12, 23], tree.FinalRegions.ToArray().Order().ToArray());
        for (int p = 0; p < 25; p++)
        {
            if (p == 12) Assert.Equal(-2.0764, map[p], 4);
            else if (p == 23) Assert.Equal(-1.0833, map[p], 4);
            else Assert.True(float.IsNaN(map[p]), $"pixel {p} should be in no final region");
        }
        Assert.Equal(14.8497, NfaNumberOfTests.Log10([25]), 4);
    }

    [Fact]
    public void UnitVectorMatchesLiteralReference()
    {
        AssertMatchesReference(UnitVector, 5, 5, 4, guard: false);
        AssertMatchesReference(UnitVector, 5, 5, 4, guard: true);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    public void RandomContinuousMapsMatchLiteralReference(ulong seed, bool guard)
    {
        var rng = new SeededRandom(seed);
        int merges = 0, failedMerges = 0;
        for (int trial = 0; trial < 150; trial++)
        {
            int h = 1 + rng.NextInt(9), w = 1 + rng.NextInt(9), channels = 1 + rng.NextInt(12);
            var x = new float[h * w];
            for (int p = 0; p < x.Length; p++)
            {
                x[p] = rng.NextUniform(0.05f, 3f) * channels; // u from 0.05 to 3: both sides of the mean
            }
            (int m, int f) = AssertMatchesReference(x, h, w, channels, guard);
            merges += m;
            failedMerges += f;
        }
        Assert.True(merges > 20 && failedMerges > 20, $"the maps must exercise both outcomes of merge: {merges} merges, {failedMerges} failed tests");
    }

    [Theory]
    [InlineData(3, false)]
    [InlineData(4, true)]
    public void RandomMapsWithTiesMatchLiteralReference(ulong seed, bool guard)
    {
        var rng = new SeededRandom(seed);
        int merges = 0, failedMerges = 0;
        for (int trial = 0; trial < 200; trial++)
        {
            int h = 1 + rng.NextInt(8), w = 1 + rng.NextInt(8), channels = 2 + rng.NextInt(6);
            int levels = 2 + rng.NextInt(5);
            var x = new float[h * w];
            for (int p = 0; p < x.Length; p++)
            {
                x[p] = (1 + rng.NextInt(levels)) * channels * 0.5f; // u in {0.5, 1, 1.5, ...}: many ties, u = 1 exactly
            }
            (int m, int f) = AssertMatchesReference(x, h, w, channels, guard);
            merges += m;
            failedMerges += f;
        }
        Assert.True(merges > 20 && failedMerges > 20, $"the maps must exercise both outcomes of merge: {merges} merges, {failedMerges} failed tests");
    }

    [Fact]
    public void ChiSquareSizedMapsMatchLiteralReference()
    {
        var rng = new SeededRandom(5);
        foreach ((int h, int w, int c, double sigma) in new[] { (14, 14, 192, 1.0), (12, 16, 50, 1.05), (10, 10, 20, 0.97), (28, 28, 816, 1.1) })
        {
            var x = new float[h * w];
            for (int p = 0; p < x.Length; p++)
            {
                double sum = 0;
                for (int k = 0; k < c; k++)
                {
                    double z = sigma * rng.NextGaussian();
                    sum += z * z;
                }
                x[p] = (float)sum;
            }
            AssertMatchesReference(x, h, w, c, guard: false);
        }
    }

    [Fact]
    public void ReusedInstanceMatchesFreshInstanceAcrossSizes()
    {
        var rng = new SeededRandom(6);
        var reused = new NfaComponentTree();
        foreach ((int h, int w) in new[] { (9, 9), (3, 4), (12, 7), (1, 1), (9, 9) })
        {
            var x = new float[h * w];
            for (int p = 0; p < x.Length; p++) x[p] = rng.NextInt(4) == 0 ? 0f : rng.NextUniform(0f, 10f);
            x[0] = -0f; // the sign of zero must not split a level
            var a = new float[x.Length];
            var b = new float[x.Length];
            reused.Build(x, h, w);
            reused.ComputeFinalRegions(5, false, a);
            var fresh = new NfaComponentTree();
            fresh.Build(x, h, w);
            fresh.ComputeFinalRegions(5, false, b);
            Assert.Equal(b, a);
            Assert.Equal(fresh.FinalRegions.ToArray(), reused.FinalRegions.ToArray());
            Assert.Equal(new NfaReferenceTree(x, h, w, 5, false).Nodes.Count, Enumerable.Range(0, x.Length).Count(reused.IsNode));
        }
    }

    [Fact]
    public void ConstantMapIsOneRootRegion()
    {
        var tree = new NfaComponentTree();
        var x = Enumerable.Repeat(6f, 12).ToArray();
        tree.Build(x, 3, 4);
        var map = new float[12];
        tree.ComputeFinalRegions(3, false, map);
        Assert.Equal(12, tree.Area(tree.Root));
        Assert.Equal(1, tree.FinalRegions.Length);
        double expected = 12 * -1.5 * (2 - 1 - Math.Log(2)) / Math.Log(10);
        Assert.All(map, v => Assert.Equal(expected, v, 5));
    }

    [Fact]
    public void BadStatisticIsRejectedWithPixelPosition()
    {
        var tree = new NfaComponentTree();
        var x = new float[6];
        x[4] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => tree.Build(x, 2, 3));
        Assert.Contains("row 1, column 1", e.Message);
    }

    private static (int Merges, int FailedMergeTests) AssertMatchesReference(float[] x, int h, int w, int channels, bool guard)
    {
        var tree = new NfaComponentTree();
        tree.Build(x, h, w);
        var map = new float[h * w];
        tree.ComputeFinalRegions(channels, guard, map);

        var reference = new NfaReferenceTree(x, h, w, channels, guard);
        // Same nodes, regions, parents and log10 PFA.
        int nodeCount = Enumerable.Range(0, h * w).Count(tree.IsNode);
        Assert.Equal(reference.Nodes.Count, nodeCount);
        foreach (NfaReferenceTree.Node node in reference.Nodes)
        {
            int fast = tree.NodeOf(node.Id);
            foreach (int p in node.Pixels.Where(q => x[q] == node.Level))
            {
                Assert.Equal(fast, tree.NodeOf(p));
            }
            Assert.Equal(node.Pixels.Count, tree.Area(fast));
            // The reference evaluates A.7.3 by its own formula, so the two agree to rounding, not bit for bit.
            Assert.True(Close(node.LogPfa, tree.LogPfa(fast), 1e-9), $"{h}x{w} C={channels} guard={guard}: node {node.Id} log10 PFA reference {node.LogPfa:R} fast {tree.LogPfa(fast):R}");
            NfaReferenceTree.Node? parent = reference.OriginalParent(node);
            Assert.Equal(parent is null ? fast : tree.NodeOf(parent.Id), tree.Parent(fast));
        }
        float[] expected = reference.Map(h * w);
        for (int p = 0; p < expected.Length; p++)
        {
            bool same = float.IsNaN(expected[p]) ? float.IsNaN(map[p]) : Close(expected[p], map[p], 1e-6);
            Assert.True(same, $"{h}x{w} C={channels} guard={guard}: pixel {p} reference {expected[p]} fast {map[p]}");
        }
        return (reference.Merges, reference.FailedMergeTests);
    }

    private static bool Close(double expected, double actual, double tolerance) =>
        Math.Abs(expected - actual) <= tolerance * Math.Max(1.0, Math.Abs(expected));

    [Fact]
    public void ReferenceBoundAgreesWithTheChiSquareTailItBounds()
    {
        // Independent of both implementations: the Chernoff bound must lie above the exact tail P(χ²_2 ≥ x) = e^{−x/2}
        // for u > 1, and equal 1 (log 0) at u = 1.
        foreach (double x in new[] { 2.5, 4.0, 9.0, 20.0 })
        {
            double exactLog10Tail = -x / 2 * Math.Log10(Math.E);
            Assert.True(NfaReferenceTree.ReferenceLog10Pfa(1, x, 2, guard: false) >= exactLog10Tail);
        }
        Assert.Equal(0.0, NfaReferenceTree.ReferenceLog10Pfa(3, 7.0, 7, guard: false), 15);
        Assert.Equal(0.0, NfaReferenceTree.ReferenceLog10Pfa(3, 3.5, 7, guard: true));
        Assert.True(NfaReferenceTree.ReferenceLog10Pfa(3, 3.5, 7, guard: false) < 0); // the u < 1 quirk of A.7.3
    }
}
