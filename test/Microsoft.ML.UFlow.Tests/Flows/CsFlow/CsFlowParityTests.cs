using System.Text.Json;
using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Optim;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Flows.CsFlow;

// The managed engine's trainer, not the ML.NET estimator of the same name in Microsoft.ML.UFlow.
using CsFlowTrainer = Microsoft.ML.UFlow.Flows.CsFlow.CsFlowTrainer;

/// <summary>
/// Parity with PyTorch 1.13 on golden values from <c>test/golden/csflow_parity.py</c> (a 2-block flow, C = 5, hidden 4,
/// kernels [3, 5], scales 8/4/2, batch 2). Tolerances are relative to the largest magnitude of each compared tensor
/// (float32 on both sides, different summation orders).
/// </summary>
public class CsFlowParityTests
{
    private sealed class Golden
    {
        private readonly JsonElement _arrays;
        private readonly float[] _data;

        public Golden()
        {
            string dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "CsFlow");
            Index = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "csflow_parity.json"))).RootElement;
            _arrays = Index.GetProperty("arrays");
            byte[] bytes = File.ReadAllBytes(Path.Combine(dir, "csflow_parity.bin"));
            _data = new float[bytes.Length / 4];
            Buffer.BlockCopy(bytes, 0, _data, 0, bytes.Length);
        }

        public JsonElement Index { get; }

        public Tensor Get(string name)
        {
            JsonElement a = _arrays.GetProperty(name);
            int offset = a.GetProperty("offset").GetInt32();
            int[] shape = a.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            if (shape.Length == 0) shape = [1];
            var t = new Tensor(shape);
            _data.AsSpan(offset, t.Length).CopyTo(t.Span);
            return t;
        }

        public Tensor[] Scales(string prefix) => [Get(prefix + "0"), Get(prefix + "1"), Get(prefix + "2")];

        public CsFlowNetwork BuildNetwork()
        {
            var options = new CsFlowNetworkOptions
            {
                Channels = Index.GetProperty("channels").GetInt32(),
                HiddenChannels = Index.GetProperty("hidden").GetInt32(),
                KernelSizes = Index.GetProperty("kernels").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                Alpha = (float)Index.GetProperty("alpha").GetDouble(),
            };
            var permutations = Index.GetProperty("permutations").EnumerateArray()
                .Select(block => (IReadOnlyList<int[]>)block.EnumerateArray().Select(p => p.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray())
                .ToArray();
            var network = new CsFlowNetwork(options, permutations);
            var byName = network.Parameters.ToDictionary(p => p.Name);
            string[] names = Index.GetProperty("parameters").EnumerateArray().Select(e => e.GetString()!).ToArray();
            Assert.Equal(byName.Keys.Order(), names.Order());
            foreach (string name in names)
            {
                Tensor value = Get("param/" + name);
                Assert.Equal(byName[name].Value.Length, value.Length);
                value.Span.CopyTo(byName[name].Value.Span);
            }
            return network;
        }
    }

    private static void AssertClose(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double relative, double absolute = 0)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0, worst = 0;
        for (int i = 0; i < expected.Length; i++) scale = Math.Max(scale, Math.Abs(expected[i]));
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs((double)expected[i] - actual[i]));
        Assert.True(worst <= relative * scale + absolute, $"{what}: max |difference| {worst:E3} exceeds {relative:E1} × max |expected| {scale:E3} + {absolute:E1}.");
    }

    [Fact]
    public void OneCouplingBlockMatchesPyTorch()
    {
        var golden = new Golden();
        CsFlowNetwork network = golden.BuildNetwork();
        Tensor[] x = golden.Scales("x");
        var logDet = new double[x[0].N];
        IReadOnlyList<Tensor> y = network.Coupling(0).Forward(x, logDet);
        Tensor[] expected = golden.Scales("block0_out");
        for (int s = 0; s < 3; s++) AssertClose($"block 0 output, scale {s}", expected[s].Span, y[s].Span, 1e-5);
        Assert.True(CsFlowTestData.MaxAbsDiff(x, y) > 0.1, "The golden block should change its input.");
        AssertClose("block 0 log-det", golden.Get("block0_logdet").Span, logDet.Select(v => (float)v).ToArray(), 1e-5);
    }

    [Fact]
    public void FlowLossGradientsAndOneTrainingStepMatchPyTorch()
    {
        var golden = new Golden();
        CsFlowNetwork network = golden.BuildNetwork();
        Tensor[] x = golden.Scales("x");
        Tensor[] gradZ = [new(1), new(1), new(1)];
        var gradLogDet = new double[x[0].N];
        var adam = new Adam(network.Parameters, new AdamOptions { LearningRate = 2e-4, Epsilon = 1e-4, WeightDecay = 1e-5 });
        float[][] before = network.Parameters.Select(p => p.Value.Span.ToArray()).ToArray();

        // Forward, loss and gradients.
        foreach (Parameter p in network.Parameters) p.ZeroGrad();
        (IReadOnlyList<Tensor> z, double[] logDet) = network.Forward(x);
        Tensor[] expectedZ = golden.Scales("z");
        for (int s = 0; s < 3; s++) AssertClose($"latent scale {s}", expectedZ[s].Span, z[s].Span, 1e-5);
        AssertClose("log-det", golden.Get("logdet").Span, logDet.Select(v => (float)v).ToArray(), 1e-5);
        double loss = CsFlowLoss.Compute(z, logDet, gradZ, gradLogDet);
        Assert.Equal(golden.Get("loss").Span[0], loss, 1e-5 * Math.Abs(loss));
        IReadOnlyList<Tensor> gradX = network.Backward(gradZ, gradLogDet);
        Tensor[] expectedGradX = golden.Scales("grad_x");
        for (int s = 0; s < 3; s++) AssertClose($"∂loss/∂x scale {s}", expectedGradX[s].Span, gradX[s].Span, 1e-4);
        foreach (Parameter p in network.Parameters) AssertClose($"∂loss/∂{p.Name}", golden.Get("grad/" + p.Name).Span, p.Grad.Span, 1e-4, 1e-9);

        // The trainer's step (fresh forward/backward, clip, Adam) must reproduce PyTorch's updated weights.
        double clip = golden.Index.GetProperty("clip").GetDouble();
        (double stepLoss, double norm) = CsFlowTrainer.Step(network, adam, x, gradZ, gradLogDet, clip);
        Assert.Equal(loss, stepLoss);
        Assert.Equal(golden.Index.GetProperty("grad_norm").GetDouble(), norm, 1e-5);
        Assert.True(norm > clip, "The fixture should exercise gradient clipping.");
        for (int i = 0; i < network.Parameters.Count; i++)
        {
            Parameter p = network.Parameters[i];
            float[] expectedStep = golden.Get("step/" + p.Name).Span.ToArray();
            float[] expectedDelta = expectedStep.Select((v, j) => v - before[i][j]).ToArray();
            float[] actualDelta = p.Value.Span.ToArray().Select((v, j) => v - before[i][j]).ToArray();
            // Updates are about lr = 2e-4 in size; 1e-6 is 0.5 % of that.
            AssertClose($"Adam update of {p.Name}", expectedDelta, actualDelta, 0, 1e-6);
        }
    }
}
