using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Flows.CsFlow;

/// <summary>Helpers shared by the managed CS-Flow tests (inputs: <see cref="Training.TestFeatures.CsFlowScales"/>).</summary>
internal static class CsFlowTestData
{
    /// <summary>Sets every γ of the coupling to a non-zero value so that the subnetworks matter.</summary>
    public static void SetGammas(ParallelGlowCoupling coupling, ulong seed)
    {
        var random = new SeededRandom(seed);
        foreach (CrossScaleSubnet subnet in new[] { coupling.S2, coupling.S1 })
        {
            for (int s = 0; s < 3; s++) subnet.Gamma(s).Value.Span[0] = random.NextUniform(0.3f, 0.9f);
        }
    }

    /// <summary>Sets every γ of the network to a non-zero value.</summary>
    public static void SetGammas(CsFlowNetwork network, ulong seed)
    {
        for (int k = 0; k < network.BlockCount; k++) SetGammas(network.Coupling(k), seed + (ulong)k);
    }

    /// <summary>Deep copies of the tensors.</summary>
    public static Tensor[] Copy(IReadOnlyList<Tensor> tensors) => tensors.Select(t => t.Clone()).ToArray();

    /// <summary>Largest absolute difference between two lists of tensors of equal shapes.</summary>
    public static double MaxAbsDiff(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b)
    {
        double max = 0;
        for (int s = 0; s < a.Count; s++)
        {
            Assert.True(a[s].SameShape(b[s].Shape), $"Shapes differ at scale {s}: {a[s]} vs {b[s]}.");
            ReadOnlySpan<float> x = a[s].Span, y = b[s].Span;
            for (int i = 0; i < x.Length; i++) max = Math.Max(max, Math.Abs((double)x[i] - y[i]));
        }
        return max;
    }

    /// <summary>log|det A| of a square matrix by LU decomposition with partial pivoting, in double.</summary>
    public static double LogAbsDet(double[,] matrix)
    {
        int n = matrix.GetLength(0);
        var a = (double[,])matrix.Clone();
        double logDet = 0;
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < n; r++) if (Math.Abs(a[r, col]) > Math.Abs(a[pivot, col])) pivot = r;
            if (pivot != col)
            {
                for (int c = 0; c < n; c++) (a[col, c], a[pivot, c]) = (a[pivot, c], a[col, c]);
            }
            double d = a[col, col];
            logDet += Math.Log(Math.Abs(d));
            for (int r = col + 1; r < n; r++)
            {
                double f = a[r, col] / d;
                if (f == 0) continue;
                for (int c = col; c < n; c++) a[r, c] -= f * a[col, c];
            }
        }
        return logDet;
    }

    /// <summary>Flattened index → (scale, offset) over three tensors.</summary>
    public static (int Scale, int Offset) Locate(IReadOnlyList<Tensor> t, int flat)
    {
        for (int s = 0; s < t.Count; s++)
        {
            if (flat < t[s].Length) return (s, flat);
            flat -= t[s].Length;
        }
        throw new ArgumentOutOfRangeException(nameof(flat));
    }
}
