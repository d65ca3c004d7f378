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
        ReadOnlySpan<float> x = input.Span;
        Span<float> y = _output.Span;
        if (NegativeSlope == 0f)
        {
            TensorPrimitives.Max(x, 0f, y);
        }
        else
        {
            for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0f ? x[i] : NegativeSlope * x[i];
        }
        return _output;
    }

    /// <inheritdoc/>
    public Tensor Backward(Tensor gradOutput)
    {
        Tensor input = _input ?? throw new InvalidOperationException("Backward called before Forward.");
        gradOutput.CheckShape(nameof(gradOutput), input.Shape.ToArray());
        _gradInput.EnsureShape(input.Shape.ToArray());
        ReadOnlySpan<float> x = input.Span, dy = gradOutput.Span;
        Span<float> dx = _gradInput.Span;
        for (int i = 0; i < x.Length; i++) dx[i] = x[i] > 0f ? dy[i] : NegativeSlope * dy[i];
        return _gradInput;
    }
}
