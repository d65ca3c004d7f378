using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Optim;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Flows;

/// <summary>
/// Parity with a plain-PyTorch build of the same flow (test/golden/flow_parity.py; weights generated in Python and
/// imported): latents and log-det (relative error ≤ 1e-4), loss, anomaly map, one training step's gradients (≤ 1e-3)
/// and the weights after one Adam step. Relative error = max |ours − torch| / max |torch| over each tensor.
/// </summary>
public class FlowPyTorchParityTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Theory]
    [InlineData("two_scales")]
    [InlineData("three_scales_ln")]
    public void MatchesPyTorch(string name)
    {
        var golden = new GoldenArrays(GoldenArrays.FixturePath($"flow_parity_{name}.bin"));
        UShapedFlow flow = Import(golden);
        int levels = flow.ScaleCount;
        Tensor[] x = Enumerable.Range(0, levels).Select(l => golden.Tensor($"input{l}")).ToArray();

        FlowOutput result = flow.Forward(x);
        for (int l = levels - 1; l >= 0; l--) AssertClose($"latent{l}", golden.Data($"latent{l}"), result.Latents[l].Span, 1e-4);
        AssertClose("logdet", golden.Data("logdet"), result.LogDet.Span, 1e-4);
        var gradLatents = result.Latents.Select(_ => new Tensor(1)).ToArray();
        var gradLogDet = new float[result.LogDet.Length];
        double loss = UFlowLoss.Compute(result, gradLatents, gradLogDet);
        Assert.True(Math.Abs(loss - golden.Data("loss")[0]) <= 1e-4 * Math.Abs(golden.Data("loss")[0]), $"loss {loss} vs {golden.Data("loss")[0]}");

        Tensor map = AnomalyMap.Compute(result.Latents, 20);
        AssertClose("anomaly_map", golden.Data("anomaly_map"), map.Span, 1e-4);

        var adam = new Adam(flow.Parameters, new AdamOptions { LearningRate = 1e-3, WeightDecay = 1e-5 });
        adam.ZeroGrad();
        flow.Backward(gradLatents, gradLogDet);
        foreach (Parameter p in flow.Parameters) AssertClose("grad." + p.Name, golden.Data("grad." + p.Name), p.Grad.Span, 1e-3);

        adam.Step();
        foreach (Parameter p in flow.Parameters)
        {
            // After one Adam step each weight moves by about lr·sign(g); compare where the gradient is clearly non-zero.
            float[] g = golden.Data("grad." + p.Name), expected = golden.Data("after_step." + p.Name);
            float gMax = Math.Abs(TensorPrimitives.MaxMagnitude(g));
            ReadOnlySpan<float> actual = p.Value.Span;
            for (int i = 0; i < g.Length; i++)
            {
                if (Math.Abs(g[i]) < 1e-2 * gMax) continue;
                Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-6 + 1e-5 * Math.Abs(expected[i]), $"after_step.{p.Name}[{i}]: {actual[i]} vs {expected[i]}");
            }
        }
    }

    /// <summary>Builds the flow described by a fixture and loads its permutations and weights.</summary>
    internal static UShapedFlow Import(GoldenArrays golden)
    {
        float[] s = golden.Data("config.scales");
        var scales = Enumerable.Range(0, s.Length / 3).Select(i => new FlowScale((int)s[3 * i], (int)s[3 * i + 1], (int)s[3 * i + 2]));
        var flow = new UShapedFlow(new UFlowConfig(scales) { FeatureLayerNorm = golden.Data("config.layernorm")[0] != 0 });
        for (int l = 0; l < flow.ScaleCount; l++)
        {
            for (int k = 0; k < flow.Config.FlowSteps; k++)
            {
                flow.Stage(l)[k].SetPermutation(golden.Data($"perm.stage{l}.step{k}").Select(v => (int)v).ToArray());
            }
        }
        foreach (Parameter p in flow.Parameters)
        {
            float[] data = golden.Data("param." + p.Name);
            Assert.Equal(p.Value.Length, data.Length);
            data.CopyTo(p.Value.Span);
        }
        return flow;
    }

    private void AssertClose(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(Math.Abs(TensorPrimitives.MaxMagnitude(expected)), 1e-12);
        double err = FlowTestData.MaxAbsDiff(expected, actual) / scale;
        output.WriteLine($"{what}: relative error {err:E2}");
        Assert.True(err <= tolerance, $"{what}: relative error {err:E2} > {tolerance:E0}");
    }
}
