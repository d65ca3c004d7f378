namespace Microsoft.ML.UFlow.Onnx;

/// <summary>
/// One named entry of a fitted flow's state dictionary: a trainable parameter or a fixed buffer (a channel permutation
/// is stored as its indices in float32), with its shape, row-major, in PyTorch's layout.
/// </summary>
/// <remarks>
/// The state dictionary (<c>IReadOnlyDictionary&lt;string, StateTensor&gt;</c>) is the hand-over between whichever engine
/// trained a flow and the ONNX exporter, so the exporter never depends on the training engine. Names follow the flow's
/// own parameter names (for U-Flow <c>stage{l}.step{s}.subnet.0.weight</c>, <c>stage{l}.step{s}.global_scale</c>,
/// <c>stage{l}.step{s}.perm</c>, <c>layernorm{l}.weight</c>; for CS-Flow <c>block{k}.s1.conv_in0.weight</c>, …).
/// </remarks>
public sealed class StateTensor
{
    /// <summary>Creates an entry; <paramref name="values"/> must hold exactly the product of <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentException">The shape has a negative dimension or does not match the number of values.</exception>
    public StateTensor(int[] shape, float[] values)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(values);
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension in shape [{string.Join(", ", shape)}].", nameof(shape));
            count *= d;
        }
        if (count != values.Length)
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] holds {count} values, got {values.Length}.", nameof(values));
        Shape = shape;
        Values = values;
    }

    /// <summary>The dimensions, outermost first.</summary>
    public int[] Shape { get; }

    /// <summary>The values, row-major.</summary>
    public float[] Values { get; }
}
