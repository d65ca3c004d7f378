using Microsoft.ML.UFlow.Onnx;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// The state dictionary of a U-Flow flow as handed to the ONNX exporter: every trainable parameter and every
/// permutation, by name, as <see cref="StateTensor"/>s (float32, row-major, PyTorch layout).
/// </summary>
/// <remarks>
/// <para>Entries, l = scale (0 = finest), s = step, C = stage channels, C1 = C − ⌊C/2⌋, C2 = ⌊C/2⌋, hidden = int(C1·ratio),
/// k = kernel of the step (3 for even s, 1 for odd s):</para>
/// <list type="bullet">
/// <item><c>stage{l}.step{s}.subnet.0.weight</c> [hidden, C1, k, k], <c>….subnet.0.bias</c> [hidden],
/// <c>….subnet.2.weight</c> [2·C2, hidden, k, k], <c>….subnet.2.bias</c> [2·C2];</item>
/// <item><c>stage{l}.step{s}.global_scale</c> [C]: the raw g, applied as 0.1·softplus_{β=0.5}(g);
/// <c>….global_offset</c> [C];</item>
/// <item><c>stage{l}.step{s}.perm</c> [C]: the permutation as float indices with out[:, c] = in[:, perm[c]], where
/// "in" is the step's global-affine output and "out" its output — the same convention as v1's
/// <c>FlowStep.Permutation</c> (output channel i is the affine output channel π(i)) and as the official
/// 1×1 convolution with w[i, π(i)] = 1;</item>
/// <item><c>layernorm{l}.weight</c>, <c>layernorm{l}.bias</c> [C_l, H_l, W_l] when the feature LayerNorm is on.</item>
/// </list>
/// <para>The entries are enumerated per scale, finest first: LayerNorm, then each step's subnet, global scale,
/// global offset, permutation.</para>
/// </remarks>
internal static class UFlowStateDictionary
{
    /// <summary>The suffix of a step's permutation entry.</summary>
    public const string PermutationSuffix = ".perm";

    /// <summary>Copies the module's parameters and permutations out (to the host).</summary>
    public static IReadOnlyDictionary<string, StateTensor> Export(UFlowModule module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var result = new Dictionary<string, StateTensor>();
        foreach ((string name, Tensor tensor) in Entries(module))
        {
            result.Add(name, new StateTensor(tensor.shape.Select(d => checked((int)d)).ToArray(), HostTensorCopy.ToArray(tensor)));
        }
        return result;
    }

    /// <summary>
    /// Copies <paramref name="state"/> into the module in place (so an optimiser over its parameters stays valid).
    /// Every entry of the module must be present with its exact shape, and no other entry may be; permutations must be
    /// permutations of 0..C−1.
    /// </summary>
    /// <exception cref="ArgumentException">An entry is missing, unexpected, of another shape, or not a permutation.</exception>
    public static void Load(UFlowModule module, IReadOnlyDictionary<string, StateTensor> state)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(state);
        var entries = Entries(module).ToList();
        var expected = entries.Select(e => e.Name).ToHashSet();
        string[] unexpected = state.Keys.Where(k => !expected.Contains(k)).ToArray();
        if (unexpected.Length > 0)
            throw new ArgumentException($"The state dictionary has entries this U-Flow flow ({module.Config}) does not: {string.Join(", ", unexpected.Take(8))}{(unexpected.Length > 8 ? ", …" : "")}.", nameof(state));
        // Validate everything before changing anything.
        foreach ((string name, Tensor tensor) in entries)
        {
            if (!state.TryGetValue(name, out StateTensor? entry))
                throw new ArgumentException($"The state dictionary lacks '{name}' of this U-Flow flow ({module.Config}).", nameof(state));
            long[] shape = tensor.shape;
            if (!entry.Shape.Select(d => (long)d).SequenceEqual(shape))
                throw new ArgumentException($"State entry '{name}' has shape [{string.Join(", ", entry.Shape)}]; the flow needs [{string.Join(", ", shape)}].", nameof(state));
            if (name.EndsWith(PermutationSuffix, StringComparison.Ordinal)) CheckPermutation(name, entry.Values);
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach ((string name, Tensor tensor) in entries)
        {
            StateTensor entry = state[name];
            Tensor values = HostTensorCopy.ToTorch(entry.Values, tensor.shape, CPU);
            tensor.copy_(name.EndsWith(PermutationSuffix, StringComparison.Ordinal) ? values.to(ScalarType.Int64) : values);
        }
    }

    /// <summary>The module's entries in state-dictionary order (parameters and the permutation buffers).</summary>
    private static IEnumerable<(string Name, Tensor Tensor)> Entries(UFlowModule module)
    {
        for (int l = 0; l < module.ScaleCount; l++)
        {
            if (module.LayerNorm(l) is { } ln)
            {
                yield return ($"layernorm{l}.weight", ln.weight!);
                yield return ($"layernorm{l}.bias", ln.bias!);
            }
            var stage = module.Stage(l);
            for (int s = 0; s < stage.Steps.Count; s++)
            {
                string prefix = $"stage{l}.step{s}";
                foreach ((string name, Tensor tensor) in stage.Steps[s].StateEntries()) yield return ($"{prefix}.{name}", tensor);
            }
        }
    }

    private static void CheckPermutation(string name, float[] values)
    {
        var seen = new bool[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (!(v >= 0 && v < values.Length && v == MathF.Floor(v)) || seen[(int)v])
                throw new ArgumentException($"State entry '{name}' is not a permutation of 0..{values.Length - 1} (entry {i} = {v}).", nameof(values));
            seen[(int)v] = true;
        }
    }
}
