using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Training;
using TorchSharp;
using HostTensor = Microsoft.ML.UFlow.Tensors.Tensor;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// The TorchSharp flows as the tests need them: weights moved away from their initial values (through the state
/// dictionaries, as a trained flow's would be), their state for the ONNX exporter, and forward passes on host tensors.
/// </summary>
internal static class FlowTestModules
{
    /// <summary>A new U-Flow module for <paramref name="config"/>, perturbed by <see cref="Perturb"/>.</summary>
    public static UFlowModule PerturbedUFlow(UFlowConfig config, SeededRandom random, float subnetFactor = 3f)
    {
        var module = new UFlowModule(config);
        try
        {
            Perturb(module, random, subnetFactor);
            return module;
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Moves every global scale, global offset and LayerNorm affine entry by N(0, 0.3²) and multiplies the subnet
    /// weights and biases by <paramref name="subnetFactor"/> (3: the coupling leaves tanh's linear range), in the
    /// state dictionary's order; the permutations stay.
    /// </summary>
    public static void Perturb(UFlowModule module, SeededRandom random, float subnetFactor = 3f)
    {
        IReadOnlyDictionary<string, StateTensor> state = UFlowStateDictionary.Export(module);
        foreach ((string name, StateTensor entry) in state)
        {
            if (name.EndsWith(UFlowStateDictionary.PermutationSuffix, StringComparison.Ordinal)) continue;
            bool affine = name.EndsWith(".global_scale", StringComparison.Ordinal) || name.EndsWith(".global_offset", StringComparison.Ordinal) || name.StartsWith("layernorm", StringComparison.Ordinal);
            float[] v = entry.Values;
            for (int i = 0; i < v.Length; i++) v[i] = affine ? v[i] + (float)(0.3 * random.NextGaussian()) : v[i] * subnetFactor;
        }
        UFlowStateDictionary.Load(module, state);
    }

    /// <summary>The state dictionary of a fresh U-Flow module for <paramref name="config"/>, as a dictionary the caller may change.</summary>
    public static Dictionary<string, StateTensor> UFlowState(UFlowConfig config)
    {
        using var module = new UFlowModule(config);
        return new Dictionary<string, StateTensor>(UFlowStateDictionary.Export(module));
    }

    /// <summary>
    /// A new CS-Flow module for <paramref name="options"/> with every γ drawn from U(0.3, 0.9) (a fresh γ is 0, which
    /// makes every coupling the identity), in the order of the entry names.
    /// </summary>
    public static CsFlowModule CsFlowWithGammas(CsFlowNetworkOptions options, ulong seed)
    {
        var random = new SeededRandom(seed);
        using var fresh = new CsFlowModule(options);
        var state = new Dictionary<string, StateTensor>(CsFlowStateDictionary.From(fresh));
        foreach (string name in state.Keys.Where(k => k.Contains(".gamma", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray())
        {
            state[name] = new StateTensor([1], [random.NextUniform(0.3f, 0.9f)]);
        }
        return CsFlowStateDictionary.ToModule(state, options);
    }

    /// <summary>The state dictionary of a fresh CS-Flow module for <paramref name="options"/>, as a dictionary the caller may change.</summary>
    public static Dictionary<string, StateTensor> CsFlowState(CsFlowNetworkOptions options)
    {
        using var module = new CsFlowModule(options);
        return new Dictionary<string, StateTensor>(CsFlowStateDictionary.From(module));
    }

    /// <summary>The U-Flow latents (finest first) and per-sample log-det of host features, as host tensors.</summary>
    public static (HostTensor[] Latents, float[] LogDet) Forward(UFlowModule module, IReadOnlyList<HostTensor> features)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        (TorchTensor[] latents, TorchTensor logDet) = module.call(features.Select(f => HostTensorCopy.ToTorch(f, module.Device)).ToArray());
        return (latents.Select(HostTensorCopy.ToHost).ToArray(), HostTensorCopy.ToArray(logDet));
    }

    /// <summary>
    /// CS-Flow on host features: the latents, the image scores and the localisation map on the grid of side <paramref name="mapSize"/> (<see cref="MapGrid"/>)
    /// (<see cref="CsFlowTorchScoring"/>), as host tensors and arrays.
    /// </summary>
    public static (HostTensor[] Latents, float[] Scores, HostTensor Map) Score(CsFlowModule module, IReadOnlyList<HostTensor> features, int mapSize)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        (TorchTensor[] latents, _) = module.call(features.Select(f => HostTensorCopy.ToTorch(f, module.Device)).ToArray());
        TorchTensor scores = CsFlowTorchScoring.ImageScores(latents);
        var (mapHeight, mapWidth) = MapGrid.For(mapSize, (int)latents[0].shape[2], (int)latents[0].shape[3]);
        TorchTensor map = CsFlowTorchScoring.LocalizationMap(latents[0], mapHeight, mapWidth);
        return (latents.Select(HostTensorCopy.ToHost).ToArray(), HostTensorCopy.ToArray(scores), HostTensorCopy.ToHost(map));
    }
}
