namespace Microsoft.ML.UFlow.Tensors;

/// <summary>Sizes of one convolution call, validated against the tensors passed to it.</summary>
internal readonly record struct ConvGeometry(int Batch, int InChannels, int OutChannels, int InHeight, int InWidth, int OutHeight, int OutWidth, int Kernel, int Stride)
{
    public int Pad => Kernel / 2;

    public static ConvGeometry Check(Tensor input, Tensor weight, Tensor? bias, int stride, Tensor output, string outputName)
    {
        input.CheckRank4(nameof(input));
        weight.CheckRank4(nameof(weight));
        output.CheckRank4(outputName);
        if (stride is not (1 or 2))
        {
            throw new ArgumentOutOfRangeException(nameof(stride), stride, "Only stride 1 and 2 are supported.");
        }
        int k = weight.H;
        if (k != weight.W || k % 2 == 0)
        {
            throw new ArgumentException($"Weight has shape {weight} but a square odd kernel [Cout, Cin, k, k] was expected.", nameof(weight));
        }
        if (weight.C != input.C)
        {
            throw new ArgumentException($"Weight expects {weight.C} input channels but the input has shape {input}.", nameof(input));
        }
        int oh = Convolution.OutputSize(input.H, k, stride), ow = Convolution.OutputSize(input.W, k, stride);
        output.CheckShape(outputName, input.N, weight.N, oh, ow);
        bias?.CheckShape("bias", weight.N);
        return new ConvGeometry(input.N, input.C, weight.N, input.H, input.W, oh, ow, k, stride);
    }
}
