using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Flows.CsFlow;

public class ParallelGlowCouplingTests
{
    [Theory]
    [InlineData(6, 3)]
    [InlineData(5, 5)] // odd C: halves of 2 and 3; k = 5 with stride-2 DownConv
    public void InverseOfForwardRecoversTheInput(int channels, int kernel)
    {
        var coupling = new ParallelGlowCoupling(channels, 8, kernel, 3f, new SeededRandom(1));
        CsFlowTestData.SetGammas(coupling, 2);
        Tensor[] x = TestFeatures.CsFlowScales(2, channels, 8, 8, 3);
        var logDet = new double[2];
        Tensor[] y = CsFlowTestData.Copy(coupling.Forward(x, logDet));
        double moved = CsFlowTestData.MaxAbsDiff(x, y);
        Assert.True(moved > 0.05, $"The coupling barely changed its input (max change {moved}); the test would be vacuous.");
        double error = CsFlowTestData.MaxAbsDiff(coupling.Inverse(y), x);
        Assert.True(error < 1e-5, $"inverse(forward(x)) differs from x by {error}.");
    }

    [Fact]
    public void StartsAsTheIdentityWithZeroGammas()
    {
        var coupling = new ParallelGlowCoupling(4, 8, 3, 3f, new SeededRandom(1));
        Tensor[] x = TestFeatures.CsFlowScales(2, 4, 4, 4, 3);
        var logDet = new double[2];
        IReadOnlyList<Tensor> y = coupling.Forward(x, logDet);
        Assert.Equal(0.0, CsFlowTestData.MaxAbsDiff(x, y));
        Assert.Equal([0.0, 0.0], logDet);
    }

    [Fact]
    public void LogDetMatchesBruteForceJacobian()
    {
        // Independent check: central finite differences of the forward map give J column by column;
        // log|det J| is then taken by LU in double and compared with the block's Σσ(s) + Σσ(s').
        const int channels = 4, size = 4;
        var coupling = new ParallelGlowCoupling(channels, 6, 3, 3f, new SeededRandom(11));
        CsFlowTestData.SetGammas(coupling, 12);
        Tensor[] x = TestFeatures.CsFlowScales(1, channels, size, size, 13);
        int d = x.Sum(t => t.Length);
        var logDet = new double[1];
        coupling.Forward(x, logDet);

        var jacobian = new double[d, d];
        const float eps = 1e-2f;
        var unused = new double[1];
        for (int j = 0; j < d; j++)
        {
            (int s, int o) = CsFlowTestData.Locate(x, j);
            float saved = x[s].Span[o];
            x[s].Span[o] = saved + eps;
            Tensor[] plus = CsFlowTestData.Copy(coupling.Forward(x, unused));
            x[s].Span[o] = saved - eps;
            Tensor[] minus = CsFlowTestData.Copy(coupling.Forward(x, unused));
            x[s].Span[o] = saved;
            int i = 0;
            for (int so = 0; so < 3; so++)
            {
                for (int e = 0; e < plus[so].Length; e++, i++) jacobian[i, j] = ((double)plus[so].Span[e] - minus[so].Span[e]) / (2 * eps);
            }
        }
        double expected = CsFlowTestData.LogAbsDet(jacobian);
        Assert.True(Math.Abs(expected) > 0.5, $"log|det J| = {expected} is too close to 0 for a meaningful check.");
        Assert.True(Math.Abs(logDet[0] - expected) < 2e-3 * Math.Max(1, Math.Abs(expected)), $"log-det {logDet[0]} vs brute-force {expected}.");
    }

    [Fact]
    public void BackwardRowsEqualTheJacobianAndLogDetGradient()
    {
        // The explicit backward with a one-hot ∂L/∂output gives one row of J; the log-det of that matrix must equal the
        // forward log-det (tight, float32 rounding only), which checks Backward against Forward exactly.
        const int channels = 4, size = 4;
        var coupling = new ParallelGlowCoupling(channels, 6, 3, 3f, new SeededRandom(21));
        CsFlowTestData.SetGammas(coupling, 22);
        Tensor[] x = TestFeatures.CsFlowScales(1, channels, size, size, 23);
        int d = x.Sum(t => t.Length);
        var logDet = new double[1];
        var jacobian = new double[d, d];
        Tensor[] grad = x.Select(t => new Tensor(t.Shape.ToArray())).ToArray();
        for (int i = 0; i < d; i++)
        {
            logDet[0] = 0;
            coupling.Forward(x, logDet);
            foreach (Tensor g in grad) g.Clear();
            (int s, int o) = CsFlowTestData.Locate(grad, i);
            grad[s].Span[o] = 1f;
            IReadOnlyList<Tensor> row = coupling.Backward(grad, [0.0]);
            int j = 0;
            for (int so = 0; so < 3; so++)
            {
                for (int e = 0; e < row[so].Length; e++, j++) jacobian[i, j] = row[so].Span[e];
            }
        }
        double fromBackward = CsFlowTestData.LogAbsDet(jacobian);
        Assert.True(Math.Abs(logDet[0] - fromBackward) < 1e-4 * Math.Max(1, Math.Abs(logDet[0])), $"log-det {logDet[0]} vs backward-Jacobian {fromBackward}.");
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        const int channels = 4;
        var coupling = new ParallelGlowCoupling(channels, 6, 3, 3f, new SeededRandom(31));
        CsFlowTestData.SetGammas(coupling, 32);
        Tensor[] x = TestFeatures.CsFlowScales(2, channels, 4, 4, 33);
        Tensor[] weights = TestFeatures.CsFlowScales(2, channels, 4, 4, 34);
        double[] logDetWeight = [0.7, -1.3];

        double Loss()
        {
            var ld = new double[2];
            IReadOnlyList<Tensor> y = coupling.Forward(x, ld);
            double l = ld[0] * logDetWeight[0] + ld[1] * logDetWeight[1];
            for (int s = 0; s < 3; s++)
            {
                for (int i = 0; i < y[s].Length; i++) l += (double)y[s].Span[i] * weights[s].Span[i];
            }
            return l;
        }

        foreach (Parameter p in coupling.Parameters) p.ZeroGrad();
        Loss();
        Tensor[] gradInput = CsFlowTestData.Copy(coupling.Backward(weights, logDetWeight));

        var checks = new List<(string What, Func<Span<float>> Values, int Index, double Analytic)>();
        for (int s = 0; s < 3; s++)
        {
            int scale = s;
            foreach (int i in new[] { 0, x[s].Length / 2 + 1, x[s].Length - 1 }) checks.Add(($"input[{s}][{i}]", () => x[scale].Span, i, gradInput[s].Span[i]));
        }
        foreach (Parameter p in coupling.Parameters)
        {
            Parameter q = p;
            foreach (int i in new[] { 0, p.Value.Length - 1 }) checks.Add(($"{p.Name}[{i}]", () => q.Value.Span, i, p.Grad.Span[i]));
        }

        const float eps = 2e-3f;
        var failures = new List<string>();
        foreach (var (what, values, index, analytic) in checks)
        {
            float saved = values()[index];
            values()[index] = saved + eps;
            double plus = Loss();
            values()[index] = saved - eps;
            double minus = Loss();
            values()[index] = saved;
            double numeric = (plus - minus) / (2 * eps);
            if (Math.Abs(numeric - analytic) > 2e-2 * Math.Max(0.1, Math.Abs(numeric))) failures.Add($"{what}: analytic {analytic}, numeric {numeric}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(checks.Count > 40);
    }

    [Fact]
    public void RejectsScalesThatDoNotHalve()
    {
        var coupling = new ParallelGlowCoupling(4, 4, 3, 3f, new SeededRandom(1));
        Tensor[] x = [new Tensor(1, 4, 8, 8), new Tensor(1, 4, 4, 4), new Tensor(1, 4, 3, 3)];
        var ex = Assert.Throws<ArgumentException>(() => coupling.Forward(x, new double[1]));
        Assert.Contains("half", ex.Message);
    }
}
