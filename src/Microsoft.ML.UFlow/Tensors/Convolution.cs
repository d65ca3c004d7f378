namespace Microsoft.ML.UFlow.Tensors;

/// <summary>
/// 2-D convolution kernels on NCHW float32 tensors: square odd kernels, zero padding k/2, stride 1 or 2
/// (output size ⌈H/stride⌉ × ⌈W/stride⌉; "same" for stride 1). Weights are laid out [Cout, Cin, k, k].
/// </summary>
/// <remarks>
/// Destination last, as in TensorPrimitives. Destinations must already have the right shape; shapes are checked
/// and mismatches throw <see cref="ArgumentException"/> naming the argument.
/// </remarks>
public static class Convolution
{
    /// <summary>The output spatial size for an input size, kernel and stride (padding k/2).</summary>
    public static int OutputSize(int inputSize, int kernel, int stride) => (inputSize + 2 * (kernel / 2) - kernel) / stride + 1;

    /// <summary>output = conv(input, weight) + bias.</summary>
    public static void Forward(Tensor input, Tensor weight, Tensor? bias, int stride, Tensor output)
    {
        var g = ConvGeometry.Check(input, weight, bias, stride, output, nameof(output));
        ConvKernels.Forward(g, input.Span, weight.Span, bias is null ? default : bias.Span, output.Span);
    }

    /// <summary>gradInput = ∂L/∂input given gradOutput = ∂L/∂output (overwrites gradInput).</summary>
    public static void BackwardInput(Tensor gradOutput, Tensor weight, int stride, Tensor gradInput)
    {
        var g = ConvGeometry.Check(gradInput, weight, null, stride, gradOutput, nameof(gradOutput));
        ConvKernels.BackwardInput(g, gradOutput.Span, weight.Span, gradInput.Span);
    }

    /// <summary>
    /// gradWeight (and gradBias if given) = ∂L/∂weight (∂L/∂bias). With <paramref name="accumulate"/> the result
    /// is added to the existing contents, as PyTorch accumulates parameter gradients.
    /// </summary>
    public static void BackwardWeight(Tensor input, Tensor gradOutput, int stride, Tensor gradWeight, Tensor? gradBias, bool accumulate)
    {
        var g = ConvGeometry.Check(input, gradWeight, gradBias, stride, gradOutput, nameof(gradOutput));
        ConvKernels.BackwardWeight(g, input.Span, gradOutput.Span, gradWeight.Span, gradBias is null ? default : gradBias.Span, accumulate);
    }
}
