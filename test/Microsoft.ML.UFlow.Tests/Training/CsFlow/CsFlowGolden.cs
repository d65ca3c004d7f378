using System.Text.Json;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Tests.Training.CsFlow;

/// <summary>
/// The PyTorch 1.13 golden values of <c>test/golden/csflow_parity.py</c> (Fixtures/CsFlow/csflow_parity.json + .bin):
/// a 2-block CS-Flow (C = 5, hidden 4, kernels [3, 5], scales 8/4/2, batch 2), as arrays, torch tensors and a state
/// dictionary.
/// </summary>
internal sealed class CsFlowGolden
{
    private readonly JsonElement _arrays;
    private readonly float[] _data;

    public CsFlowGolden()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "CsFlow");
        Index = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "csflow_parity.json"))).RootElement;
        _arrays = Index.GetProperty("arrays");
        byte[] bytes = File.ReadAllBytes(Path.Combine(dir, "csflow_parity.bin"));
        _data = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, _data, 0, bytes.Length);
    }

    public JsonElement Index { get; }

    public CsFlowNetworkOptions Options => new()
    {
        Channels = Index.GetProperty("channels").GetInt32(),
        HiddenChannels = Index.GetProperty("hidden").GetInt32(),
        KernelSizes = Index.GetProperty("kernels").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
        Alpha = (float)Index.GetProperty("alpha").GetDouble(),
    };

    /// <summary>[block][scale] permutations drawn by the script with np.random.seed(block).</summary>
    public int[][][] Permutations => Index.GetProperty("permutations").EnumerateArray()
        .Select(block => block.EnumerateArray().Select(p => p.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray())
        .ToArray();

    public string[] ParameterNames => Index.GetProperty("parameters").EnumerateArray().Select(e => e.GetString()!).ToArray();

    public int[] Shape(string name) => _arrays.GetProperty(name).GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public float[] Values(string name)
    {
        JsonElement a = _arrays.GetProperty(name);
        int offset = a.GetProperty("offset").GetInt32();
        long count = Shape(name).Aggregate(1L, (p, d) => p * d);
        return _data.AsSpan(offset, (int)count).ToArray();
    }

    /// <summary>A new CPU tensor (outside any dispose scope unless one is open).</summary>
    public Tensor Tensor(string name) => torch.tensor(Values(name), Shape(name).Select(d => (long)d).ToArray());

    public Tensor[] Scales(string prefix) => [Tensor(prefix + "0"), Tensor(prefix + "1"), Tensor(prefix + "2")];

    /// <summary>The state dictionary of the script's initial network (its parameters and permutations).</summary>
    public IReadOnlyDictionary<string, StateTensor> State(string prefix = "param/")
    {
        var state = new Dictionary<string, StateTensor>();
        foreach (string name in ParameterNames) state.Add(name, new StateTensor(Shape(prefix + name), Values(prefix + name)));
        int[][][] perms = Permutations;
        for (int k = 0; k < perms.Length; k++)
        {
            for (int s = 0; s < 3; s++) state.Add($"block{k}.perm{s}", new StateTensor([perms[k][s].Length], perms[k][s].Select(i => (float)i).ToArray()));
        }
        return state;
    }
}
