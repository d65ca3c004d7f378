namespace Microsoft.ML.UFlow.Onnx;

/// <summary>
/// Takes the entries of a flow's state dictionary that an exporter needs, checking presence, shape and finiteness, and
/// reading permutation buffers (float indices). At the end, <see cref="EnsureAllUsed"/> refuses entries the
/// configuration did not ask for, since those mean the configuration does not describe the trained flow.
/// </summary>
internal sealed class StateDictionaryReader
{
    private readonly IReadOnlyDictionary<string, StateTensor> _state;
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly string _method;

    /// <summary>Reads <paramref name="state"/> of a <paramref name="method"/> flow (the name is used in errors).</summary>
    public StateDictionaryReader(IReadOnlyDictionary<string, StateTensor> state, string method)
    {
        ArgumentNullException.ThrowIfNull(state);
        _state = state;
        _method = method;
    }

    /// <summary>The values of entry <paramref name="name"/>, which must have exactly <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentException">The entry is missing, misshaped, or holds NaN or infinite values.</exception>
    public float[] Take(string name, params int[] shape)
    {
        if (!_state.TryGetValue(name, out StateTensor? tensor) || tensor is null)
        {
            throw new ArgumentException($"The {_method} state dictionary has no entry '{name}'; expected a tensor of shape {Format(shape)}.", "state");
        }
        if (!tensor.Shape.AsSpan().SequenceEqual(shape))
        {
            throw new ArgumentException($"The {_method} state dictionary entry '{name}' has shape {Format(tensor.Shape)} but the configuration needs {Format(shape)}.", "state");
        }
        float[] values = tensor.Values;
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new ArgumentException($"The {_method} state dictionary entry '{name}' holds {values[i]} at index {i}; a trained flow has finite parameters (did training diverge?).", "state");
            }
        }
        _used.Add(name);
        return values;
    }

    /// <summary>
    /// The permutation stored in entry <paramref name="name"/> as <paramref name="channels"/> float indices, as int64
    /// (out[:, c] = in[:, perm[c]]).
    /// </summary>
    /// <exception cref="ArgumentException">The entry is missing, misshaped, or not a permutation of 0..channels−1.</exception>
    public long[] TakePermutation(string name, int channels)
    {
        float[] values = Take(name, channels);
        var result = new long[channels];
        var seen = new bool[channels];
        for (int i = 0; i < channels; i++)
        {
            float v = values[i];
            if (v != MathF.Floor(v) || v < 0 || v >= channels || seen[(int)v])
            {
                throw new ArgumentException($"The {_method} state dictionary entry '{name}' is not a permutation of 0..{channels - 1} (value {v} at index {i}).", "state");
            }
            seen[(int)v] = true;
            result[i] = (long)v;
        }
        return result;
    }

    /// <summary>Throws when the dictionary holds entries that were never taken.</summary>
    /// <exception cref="ArgumentException">Some entries were not used; the message lists them.</exception>
    public void EnsureAllUsed()
    {
        string[] unused = _state.Keys.Where(k => !_used.Contains(k)).Order(StringComparer.Ordinal).ToArray();
        if (unused.Length > 0)
        {
            string list = string.Join(", ", unused.Take(8)) + (unused.Length > 8 ? $", … ({unused.Length} in all)" : "");
            throw new ArgumentException($"The {_method} state dictionary has entries that the configuration does not use: {list}. The configuration does not describe the trained flow.", "state");
        }
    }

    private static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}
