using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// The hand-over of a CS-Flow's weights as a state dictionary (name → <see cref="StateTensor"/>, float32, PyTorch
/// layout): out of and into a <see cref="CsFlowModule"/>, and on to the ONNX exporter.
/// </summary>
/// <remarks>
/// Names are those of <see cref="CsFlowModule"/>: every trainable parameter
/// (<c>block{k}.s{1|2}.{conv_in0…2, conv_out0…2, up_conv10, up_conv21, down_conv01, down_conv12}.{weight|bias}</c>,
/// <c>block{k}.s{1|2}.gamma{0…2}</c> of shape [1]) and the permutation buffers <c>block{k}.perm{0…2}</c> (shape [C],
/// float32 indices, out[:, c] = in[:, perm[c]]). Conv weights are [out, in, k, k].
/// </remarks>
internal static class CsFlowStateDictionary
{
    /// <summary>A CPU copy of every parameter and buffer of <paramref name="module"/>.</summary>
    public static IReadOnlyDictionary<string, StateTensor> From(CsFlowModule module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var state = new Dictionary<string, StateTensor>(StringComparer.Ordinal);
        using (torch.no_grad())
        {
            foreach ((string name, Tensor value) in module.state_dict())
            {
                using Tensor cpu = value.detach().to(ScalarType.Float32, torch.CPU).contiguous();
                state.Add(name, new StateTensor(cpu.shape.Select(d => checked((int)d)).ToArray(), cpu.data<float>().ToArray()));
            }
        }
        return state;
    }

    /// <summary>
    /// Copies <paramref name="state"/> into <paramref name="module"/>: the names must be exactly the module's, each shape
    /// must match, and each permutation buffer must hold a permutation of 0..C−1.
    /// </summary>
    /// <exception cref="ArgumentException">A name is missing or unexpected, a shape differs, or a permutation is not one.</exception>
    public static void Load(CsFlowModule module, IReadOnlyDictionary<string, StateTensor> state)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(state);
        Dictionary<string, Tensor> target = module.state_dict();
        string[] missing = target.Keys.Where(k => !state.ContainsKey(k)).Order(StringComparer.Ordinal).ToArray();
        string[] unexpected = state.Keys.Where(k => !target.ContainsKey(k)).Order(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0 || unexpected.Length > 0)
        {
            throw new ArgumentException("The state dictionary does not fit this CS-Flow network: " +
                (missing.Length > 0 ? $"missing {Names(missing)}" : "") + (missing.Length > 0 && unexpected.Length > 0 ? "; " : "") +
                (unexpected.Length > 0 ? $"unexpected {Names(unexpected)}" : "") + ".", nameof(state));
        }
        foreach ((string name, Tensor value) in target)
        {
            StateTensor entry = state[name];
            if (!entry.Shape.Select(d => (long)d).SequenceEqual(value.shape))
            {
                throw new ArgumentException($"State entry '{name}' has shape [{string.Join(", ", entry.Shape)}] but the network's is [{string.Join(", ", value.shape)}].", nameof(state));
            }
            if (IsPermutation(name)) CheckPermutation(name, entry.Values);
        }
        using (torch.no_grad())
        {
            foreach ((string name, Tensor value) in target)
            {
                using Tensor source = torch.tensor(state[name].Values, value.shape);
                value.copy_(source);
            }
        }
    }

    /// <summary>A new <see cref="CsFlowModule"/> with architecture <paramref name="options"/> holding <paramref name="state"/>.</summary>
    /// <exception cref="ArgumentException">The state does not fit the architecture.</exception>
    public static CsFlowModule ToModule(IReadOnlyDictionary<string, StateTensor> state, CsFlowNetworkOptions options, Device? device = null)
    {
        var module = new CsFlowModule(options, device);
        try
        {
            Load(module, state);
            return module;
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    private static bool IsPermutation(string name) => name.Contains(".perm", StringComparison.Ordinal);

    private static void CheckPermutation(string name, float[] values)
    {
        var seen = new bool[values.Length];
        foreach (float v in values)
        {
            if (!(v >= 0 && v < values.Length) || v != MathF.Floor(v) || seen[(int)v])
            {
                throw new ArgumentException($"State entry '{name}' is not a permutation of 0..{values.Length - 1}.", "state");
            }
            seen[(int)v] = true;
        }
    }

    private static string Names(string[] names) => names.Length <= 5
        ? string.Join(", ", names.Select(n => $"'{n}'"))
        : string.Join(", ", names.Take(5).Select(n => $"'{n}'")) + $" and {names.Length - 5} more";
}
