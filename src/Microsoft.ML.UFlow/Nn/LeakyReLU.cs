using System.Runtime.Intrinsics;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Nn;

/// <summary>Leaky rectifier: y = x for x &gt; 0, slope·x otherwise (slope 0 gives ReLU).</summary>
public sealed class LeakyReLU : ILayer
{
    private readonly Tensor _output = new(1);
    private readonly Tensor _gradInput = new(1);
    private Tensor? _input;

    /// <summary>Creates the layer; slope 0 is a plain ReLU.</summary>
    public LeakyReLU(float negativeSlope = 0.01f) => NegativeSlope = negativeSlope;

    /// <summary>The slope for negative inputs.</summary>
    public float NegativeSlope { get; }

    /// <inheritdoc/>
    public IReadOnlyList<Parameter> Parameters => [];

    /// <inheritdoc/>
    public Tensor Forward(Tensor input)
    {
        _input = input;
        _output.EnsureShape(input.Shape.ToArray());
        if (NegativeSlope == 0f)
        {
            TensorPrimitives.Max(input.Span, 0f, _output.Span); // +0 for negative inputs, as torch.relu
        }
        else
        {
            Select(input.Span, input.Span, NegativeSlope, _output.Span);
        }
        return _output;
    }

    /// <inheritdoc/>
    public Tensor Backward(Tensor gradOutput)
    {
        Tensor input = _input ?? throw new InvalidOperationException("Backward called before Forward.");
        gradOutput.CheckShape(nameof(gradOutput), input.Shape.ToArray());
        _gradInput.EnsureShape(input.Shape.ToArray());
        Select(input.Span, gradOutput.Span, NegativeSlope, _gradInput.Span);
        return _gradInput;
    }

    /// <summary>dst[i] = x[i] &gt; 0 ? v[i] : slope·v[i] (forward with v = x, backward with v = ∂L/∂y).</summary>
    private static void Select(ReadOnlySpan<float> x, ReadOnlySpan<float> v, float slope, Span<float> dst)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var zero = Vector512<float>.Zero;
            var s = Vector512.Create(slope);
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var vi = Vector512.Create(v.Slice(i, Vector512<float>.Count));
                Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.Create(x.Slice(i, Vector512<float>.Count)), zero), vi, vi * s).CopyTo(dst.Slice(i));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var zero = Vector256<float>.Zero;
            var s = Vector256.Create(slope);
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var vi = Vector256.Create(v.Slice(i, Vector256<float>.Count));
                Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Create(x.Slice(i, Vector256<float>.Count)), zero), vi, vi * s).CopyTo(dst.Slice(i));
            }
        }
        for (; i < x.Length; i++) dst[i] = x[i] > 0f ? v[i] : slope * v[i];
    }
}
