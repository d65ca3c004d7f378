using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tests.Flows.CsFlow;
using Microsoft.ML.UFlow.Training;
using TorchSharp;
using static TorchSharp.torch;
using ManagedTensor = Microsoft.ML.UFlow.Tensors.Tensor;

namespace Microsoft.ML.UFlow.Tests.Training.CsFlow;

/// <summary>
/// TorchSharp against v1's managed engine on the same weights, imported from a managed <see cref="CsFlowNetwork"/>
/// (non-zero γ, its own permutations): latents, log-det, image scores and the localisation map. Both sides compute in
/// float32 with different summation orders; tolerances relative to the largest magnitude of each tensor. The hand-over
/// to and from the managed network (<see cref="CsFlowStateDictionary.FromManaged"/>, <see cref="CsFlowStateDictionary.ToManaged"/>)
/// goes with it; the TorchSharp side alone is tested in <see cref="CsFlowModuleTests"/> and <see cref="CsFlowTorchParityTests"/>.
/// </summary>
public sealed class CsFlowTorchVsManagedTests
{
    private static CsFlowNetworkOptions Options(int channels) => new() { Channels = channels, HiddenChannels = 8, KernelSizes = [3, 5, 3], Seed = 11 };

    private static Tensor ToTorch(ManagedTensor t) => torch.tensor(t.Span.ToArray(), t.Shape.ToArray().Select(d => (long)d).ToArray());

    private static float[] Values(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();

    [Theory]
    [InlineData(6)]
    [InlineData(7)] // odd: C1 = 3, C2 = 4
    public void Latents_log_det_and_scores_match_the_managed_network_on_imported_weights(int channels)
    {
        var managed = new CsFlowNetwork(Options(channels));
        CsFlowTestData.SetGammas(managed, 5);
        ManagedTensor[] x = TestFeatures.CsFlowScales(3, channels, 8, 8, 6);
        (IReadOnlyList<ManagedTensor> zManaged, double[] logDetManaged) = managed.Forward(x);
        double[] scoresManaged = CsFlowScoring.ImageScores(zManaged);
        ManagedTensor mapManaged = CsFlowScoring.LocalizationMap(zManaged[0], 20, 20);

        using var scope = torch.NewDisposeScope();
        using CsFlowModule module = CsFlowStateDictionary.ToModule(CsFlowStateDictionary.FromManaged(managed), managed.Options);
        using var noGrad = torch.no_grad();
        (Tensor[] z, Tensor logDet) = module.call(x.Select(ToTorch).ToArray());
        Assert.True(CsFlowTestData.MaxAbsDiff(x, zManaged) > 0.1, "The imported flow should change its input.");
        for (int s = 0; s < 3; s++) Close.AssertScaled($"latent scale {s}", zManaged[s].Span, Values(z[s]), 1e-5);
        Close.AssertScaled("log-det", logDetManaged.Select(v => (float)v).ToArray(), Values(logDet), 1e-5);
        Close.AssertAll("image score", scoresManaged.Select(v => (float)v).ToArray(), Values(CsFlowTorchScoring.ImageScores(z)), 1e-5, 0);
        Tensor map = CsFlowTorchScoring.LocalizationMap(z[0], 20, 20);
        Assert.Equal([3L, 1, 20, 20], map.shape);
        Close.AssertScaled("localisation map", mapManaged.Span, Values(map), 1e-5);
    }

    [Fact]
    public void The_state_dictionary_round_trips_through_the_managed_network_and_the_module_bit_for_bit()
    {
        var managed = new CsFlowNetwork(Options(6));
        CsFlowTestData.SetGammas(managed, 9);
        IReadOnlyDictionary<string, StateTensor> state = CsFlowStateDictionary.FromManaged(managed);
        using CsFlowModule module = CsFlowStateDictionary.ToModule(state, managed.Options);
        IReadOnlyDictionary<string, StateTensor> fromModule = CsFlowStateDictionary.From(module);
        IReadOnlyDictionary<string, StateTensor> back = CsFlowStateDictionary.FromManaged(CsFlowStateDictionary.ToManaged(fromModule, managed.Options));
        Assert.Equal(state.Keys.Order(StringComparer.Ordinal), fromModule.Keys.Order(StringComparer.Ordinal));
        foreach ((string name, StateTensor entry) in state)
        {
            Assert.Equal(entry.Shape, fromModule[name].Shape);
            Assert.Equal(entry.Values, fromModule[name].Values);
            Assert.Equal(entry.Values, back[name].Values);
        }
        for (int k = 0; k < managed.BlockCount; k++)
        {
            for (int s = 0; s < 3; s++) Assert.Equal(managed.Permute(k).Permutation(s).Select(i => (float)i), fromModule[$"block{k}.perm{s}"].Values);
        }
    }

    [Fact]
    public void The_managed_network_refuses_a_state_dictionary_with_a_broken_permutation()
    {
        var managed = new CsFlowNetwork(Options(6));
        var notPermutation = new Dictionary<string, StateTensor>(CsFlowStateDictionary.FromManaged(managed)) { ["block1.perm2"] = new StateTensor([6], [0, 1, 2, 3, 4, 4]) };
        Assert.Contains("'block1.perm2' is not a permutation", Assert.Throws<ArgumentException>(() => CsFlowStateDictionary.ToManaged(notPermutation, managed.Options)).Message);
    }
}
