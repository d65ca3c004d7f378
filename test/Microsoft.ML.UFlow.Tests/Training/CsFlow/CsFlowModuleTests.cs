using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Tests.Training.CsFlow;

/// <summary>
/// The TorchSharp CS-Flow's structure and arithmetic: parameter counts (the paper's 275.2 M), a fresh network is a
/// permutation with log-det 0, the log-det equals log|det J| of the map's Jacobian (built row by row with autograd),
/// the scores and the localisation map follow METHOD.md C.4 on hand-made latents, and the state dictionary refuses
/// what does not fit.
/// </summary>
public sealed class CsFlowModuleTests
{
    private static CsFlowNetworkOptions Tiny(int channels = 6) => new() { Channels = channels, HiddenChannels = 6, KernelSizes = [3, 5], Seed = 7 };

    private static float[] Values(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();

    [Fact]
    public void ParameterCountOfThePaperConfigurationIs275Point2Million()
    {
        // METHOD.md C.2: C = 304, hidden 1024, kernels [3, 3, 3, 5]. Per subnet 3 in-convs (152→1024) and 7 convs
        // 1024→304 (3 per-scale, 2 up, 2 down), all with bias, plus 3 γ; two subnets per block. Computed, not allocated.
        long count = CsFlowModule.CountParameters(new CsFlowNetworkOptions { Channels = 304 });
        long k3 = 2 * (3 * (152L * 1024 * 9 + 1024) + 7 * (1024L * 304 * 9 + 304) + 3);
        long k5 = 2 * (3 * (152L * 1024 * 25 + 1024) + 7 * (1024L * 304 * 25 + 304) + 3);
        Assert.Equal(3 * k3 + k5, count);
        Assert.Equal(275.2, Math.Round(count / 1e6, 1));
    }

    [Theory]
    [InlineData(6)]
    [InlineData(7)]
    public void ParameterCountFormulaMatchesTheBuiltNetwork(int channels)
    {
        using var module = new CsFlowModule(Tiny(channels));
        Assert.Equal(CsFlowModule.CountParameters(Tiny(channels)), module.parameters().Sum(p => p.numel()));
        string[] names = module.named_parameters().Select(p => p.name).ToArray();
        Assert.Equal(names.Length, names.Distinct().Count());
    }

    [Fact]
    public void FreshNetworkOnlyPermutesAndHasZeroLogDet()
    {
        using var module = new CsFlowModule(Tiny());
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor[] x = TestFeatures.CsFlowScales(1, 6, 4, 4, 5).Select(t => HostTensorCopy.ToTorch(t, CPU)).ToArray();
        (Tensor[] z, Tensor logDet) = module.call(x);
        Assert.Equal([0f], Values(logDet));
        bool moved = false;
        for (int s = 0; s < 3; s++)
        {
            float[] input = Values(x[s]), output = Values(z[s]);
            moved |= !input.SequenceEqual(output);
            Array.Sort(input);
            Array.Sort(output);
            Assert.Equal(input, output);
        }
        Assert.True(moved, "Permutations should move channels.");
    }

    [Theory]
    [InlineData(4, 4)]
    [InlineData(4, 8)] // a rectangular input: maps 4x8, 2x4, 1x2 (H×W)
    public void LogDetEqualsTheLogAbsDeterminantOfTheJacobian(int height, int width)
    {
        // J row by row: the gradient of output value i with respect to every input value (autograd, one forward and
        // backward pass per row); log|det J| by LU in double against the network's Σσ(s) + Σσ(s').
        var options = new CsFlowNetworkOptions { Channels = 4, HiddenChannels = 6, KernelSizes = [3, 5], Seed = 11 };
        using CsFlowModule module = FlowTestModules.CsFlowWithGammas(options, 12);
        float[][] x = TestFeatures.CsFlowScales(1, 4, height, width, 13).Select(t => t.Span.ToArray()).ToArray();
        long[][] shapes = [[1, 4, height, width], [1, 4, height / 2, width / 2], [1, 4, height / 4, width / 4]];
        int d = x.Sum(v => v.Length);
        var jacobian = new double[d, d];
        float logDet = 0;
        for (int i = 0; i < d; i++)
        {
            using var scope = NewDisposeScope();
            Tensor[] inputs = Enumerable.Range(0, 3).Select(s => HostTensorCopy.ToTorch(x[s], shapes[s], CPU).requires_grad_(true)).ToArray();
            (Tensor[] z, Tensor ld) = module.call(inputs);
            logDet = ld.item<float>();
            cat(z.Select(t => t.flatten()).ToArray())[i].backward();
            float[] row = inputs.SelectMany(t => Values(t.grad!)).ToArray();
            for (int j = 0; j < d; j++) jacobian[i, j] = row[j];
        }
        double expected = LinearAlgebra.LogAbsDeterminant(jacobian);
        Assert.True(Math.Abs(expected) > 0.5, $"log|det J| = {expected} is too close to 0 for a meaningful check.");
        Assert.True(Math.Abs(logDet - expected) < 1e-4 * Math.Max(1, Math.Abs(expected)), $"log-det {logDet} vs log|det J| {expected}.");
    }

    [Fact]
    public void ImageScoreAndLocalisationMapFollowMethod()
    {
        using var scope = NewDisposeScope();
        Tensor[] z = [tensor(new float[] { 1, 2, 3, 4, 0, 0, 1, 2 }, [1, 2, 2, 2]), tensor(new float[] { 3, 3 }, [1, 2, 1, 1]), zeros(1, 2, 1, 1)];
        double expected = 0.5 * (1 + 4 + 9 + 16 + 0 + 0 + 1 + 4 + 9 + 9) / 12;
        Close.AssertAll("image score", [(float)expected], Values(CsFlowTorchScoring.ImageScores(z)), 1e-6, 0);

        Tensor map = CsFlowTorchScoring.LocalizationMap(z[0], 2, 2);
        Assert.Equal([1L, 1, 2, 2], map.shape);
        Assert.Equal([0.5f, 2f, 5f, 10f], Values(map));
        float[] up = Values(CsFlowTorchScoring.LocalizationMap(z[0], 4, 4));
        // align_corners = False: the corner pixels copy the corner values; (0,1) = 0.75·0.5 + 0.25·2.
        Assert.Equal(0.5f, up[0]);
        Assert.Equal(0.875f, up[1], 6);
        Assert.Equal(10f, up[15]);
        Assert.Throws<ArgumentOutOfRangeException>(() => CsFlowTorchScoring.LocalizationMap(z[0], 0, 4));
    }

    [Fact]
    public void A_state_dictionary_that_does_not_fit_is_refused_with_the_entry_named()
    {
        var options = new CsFlowNetworkOptions { Channels = 6, HiddenChannels = 8, KernelSizes = [3, 5, 3], Seed = 11 };
        using var module = new CsFlowModule(options);
        Dictionary<string, StateTensor> state = FlowTestModules.CsFlowState(options);

        var missing = new Dictionary<string, StateTensor>(state);
        missing.Remove("block2.s1.gamma1");
        Assert.Contains("missing 'block2.s1.gamma1'", Assert.Throws<ArgumentException>(() => CsFlowStateDictionary.Load(module, missing)).Message);

        var extra = new Dictionary<string, StateTensor>(state) { ["block3.perm0"] = state["block0.perm0"] };
        Assert.Contains("unexpected 'block3.perm0'", Assert.Throws<ArgumentException>(() => CsFlowStateDictionary.Load(module, extra)).Message);

        var shape = new Dictionary<string, StateTensor>(state) { ["block0.s2.conv_in0.weight"] = new StateTensor([4, 3, 3, 3], new float[4 * 27]) };
        Assert.Contains("'block0.s2.conv_in0.weight' has shape [4, 3, 3, 3] but the network's is [8, 3, 3, 3]", Assert.Throws<ArgumentException>(() => CsFlowStateDictionary.Load(module, shape)).Message);

        var notPermutation = new Dictionary<string, StateTensor>(state) { ["block1.perm2"] = new StateTensor([6], [0, 1, 2, 3, 4, 4]) };
        Assert.Contains("'block1.perm2' is not a permutation", Assert.Throws<ArgumentException>(() => CsFlowStateDictionary.Load(module, notPermutation)).Message);

        int[] identity = [0, 1, 2, 3, 4, 5];
        IReadOnlyList<int[]>[] badBlock1 = [[identity, identity, identity], [identity, [0, 1, 2, 3, 5, 5], identity], [identity, identity, identity]];
        Assert.Contains("Permutation 1 is not a permutation of 0..5", Assert.Throws<ArgumentException>(() => new CsFlowModule(options, badBlock1)).Message);
    }
}
