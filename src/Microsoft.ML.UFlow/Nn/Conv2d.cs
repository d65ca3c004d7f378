using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Nn;

/// <summary>2-D convolution with bias, square odd kernel, zero padding k/2, stride 1 or 2 (PyTorch <c>nn.Conv2d</c> semantics).</summary>
public sealed class Conv2d : ILayer
{
    private readonly Tensor _output = new(1);
    private readonly Tensor _gradInput = new(1);
    private Tensor? _input;

    /// <summary>Creates the layer with PyTorch's default initialisation drawn from <paramref name="random"/>.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, SeededRandom random, int stride = 1, string name = "conv")
    {
        if (inChannels <= 0 || outChannels <= 0) throw new ArgumentOutOfRangeException(nameof(inChannels), "Channel counts must be positive.");
        if (kernelSize <= 0 || kernelSize % 2 == 0) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "The kernel size must be odd.");
        if (stride is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(stride), stride, "Only stride 1 and 2 are supported.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Weight = new Parameter(name + ".weight", outChannels, inChannels, kernelSize, kernelSize);
        Bias = new Parameter(name + ".bias", outChannels);
        Parameters = [Weight, Bias];
        PyTorchInit.ConvDefault(Weight.Value, Bias.Value, random);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel size k (k×k).</summary>
    public int KernelSize { get; }

    /// <summary>Stride (1 or 2).</summary>
    public int Stride { get; }

    /// <summary>Weights, [Cout, Cin, k, k].</summary>
    public Parameter Weight { get; }

    /// <summary>Bias, [Cout].</summary>
    public Parameter Bias { get; }

    /// <inheritdoc/>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <inheritdoc/>
    public Tensor Forward(Tensor input)
    {
        input.CheckRank4(nameof(input));
        _input = input;
        _output.EnsureShape(input.N, OutChannels, Convolution.OutputSize(input.H, KernelSize, Stride), Convolution.OutputSize(input.W, KernelSize, Stride));
        Convolution.Forward(input, Weight.Value, Bias.Value, Stride, _output);
        return _output;
    }

    /// <inheritdoc/>
    public Tensor Backward(Tensor gradOutput)
    {
        Tensor input = _input ?? throw new InvalidOperationException("Backward called before Forward.");
        Convolution.BackwardWeight(input, gradOutput, Stride, Weight.Grad, Bias.Grad, accumulate: true);
        _gradInput.EnsureShape(input.N, input.C, input.H, input.W);
        Convolution.BackwardInput(gradOutput, Weight.Value, Stride, _gradInput);
        return _gradInput;
    }
}
