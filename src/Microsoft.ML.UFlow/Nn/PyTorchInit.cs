using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Nn;

/// <summary>PyTorch's default parameter initialisations, drawn from a <see cref="SeededRandom"/>.</summary>
public static class PyTorchInit
{
    /// <summary>
    /// <c>nn.Conv2d</c>'s default: kaiming_uniform(a = √5) for the weight, which is uniform in ±1/√fan_in, and the
    /// bias uniform in ±1/√fan_in, with fan_in = Cin·k·k.
    /// </summary>
    public static void ConvDefault(Tensor weight, Tensor? bias, SeededRandom random)
    {
        weight.CheckRank4(nameof(weight));
        int fanIn = weight.C * weight.H * weight.W;
        float bound = 1f / MathF.Sqrt(fanIn);
        Uniform(weight.Span, -bound, bound, random);
        if (bias is not null) Uniform(bias.Span, -bound, bound, random);
    }

    /// <summary>Fills <paramref name="destination"/> with values uniform in [low, high).</summary>
    public static void Uniform(Span<float> destination, float low, float high, SeededRandom random)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = random.NextUniform(low, high);
    }
}
