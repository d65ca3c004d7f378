using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows;

/// <summary>
/// PyTorch <c>nn.LayerNorm([C, H, W])</c> on one feature map (METHOD.md A.2.2): each sample is normalised with the mean
/// and biased variance of all its C·H·W values (eps 1e-5), then a trainable weight and bias of shape C×H×W (initialised
/// to 1 and 0) are applied. Trained together with the flow; its input (the frozen features) needs no gradient.
/// </summary>
public sealed class FeatureLayerNorm
{
    /// <summary>PyTorch's default epsilon.</summary>
    public const float Epsilon = 1e-5f;

    private readonly Tensor _output = new(1);
    private readonly Tensor _normalized = new(1);
    private double[] _mean = [];
    private double[] _rstd = [];

    /// <summary>Creates the layer for maps of the given shape.</summary>
    public FeatureLayerNorm(FlowScale shape, string name = "layernorm")
    {
        Shape = shape;
        Weight = new Parameter(name + ".weight", shape.Channels, shape.Height, shape.Width);
        Weight.Value.Span.Fill(1f);
        Bias = new Parameter(name + ".bias", shape.Channels, shape.Height, shape.Width);
        Parameters = [Weight, Bias];
    }

    /// <summary>The normalised shape.</summary>
    public FlowScale Shape { get; }

    /// <summary>Element-wise weight, C×H×W.</summary>
    public Parameter Weight { get; }

    /// <summary>Element-wise bias, C×H×W.</summary>
    public Parameter Bias { get; }

    /// <summary>Weight and bias.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Normalises <paramref name="input"/>; the result is owned by the layer (valid until the next Forward).</summary>
    public Tensor Forward(Tensor input)
    {
        input.CheckShape(nameof(input), input.N, Shape.Channels, Shape.Height, Shape.Width);
        int n = input.N, size = Shape.Channels * Shape.Height * Shape.Width;
        _output.EnsureShape(n, Shape.Channels, Shape.Height, Shape.Width);
        _normalized.EnsureShape(n, Shape.Channels, Shape.Height, Shape.Width);
        if (_mean.Length != n)
        {
            _mean = new double[n];
            _rstd = new double[n];
        }
        FlowParallel.For(n, size * 6, b =>
        {
            ReadOnlySpan<float> x = input.Sample(b);
            double sum = 0;
            for (int i = 0; i < x.Length; i++) sum += x[i];
            double mean = sum / size, sq = 0;
            for (int i = 0; i < x.Length; i++)
            {
                double d = x[i] - mean;
                sq += d * d;
            }
            double rstd = 1.0 / Math.Sqrt(sq / size + Epsilon);
            _mean[b] = mean;
            _rstd[b] = rstd;
            Span<float> xhat = _normalized.Sample(b), y = _output.Sample(b);
            TensorPrimitives.Subtract(x, (float)mean, xhat);
            TensorPrimitives.Multiply(xhat, (float)rstd, xhat);
            TensorPrimitives.MultiplyAdd(xhat, Weight.Value.Span, Bias.Value.Span, y);
        });
        return _output;
    }

    /// <summary>Accumulates the weight and bias gradients for ∂L/∂output of the last Forward.</summary>
    public void Backward(Tensor gradOutput)
    {
        gradOutput.CheckShape(nameof(gradOutput), _normalized.N, Shape.Channels, Shape.Height, Shape.Width);
        int n = gradOutput.N;
        Span<float> gw = Weight.Grad.Span, gb = Bias.Grad.Span;
        for (int b = 0; b < n; b++)
        {
            ReadOnlySpan<float> g = gradOutput.Sample(b);
            TensorPrimitives.MultiplyAdd(g, _normalized.Sample(b), gw, gw);
            TensorPrimitives.Add(gb, g, gb);
        }
    }
}
