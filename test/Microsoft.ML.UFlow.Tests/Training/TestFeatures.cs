using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>Seeded Gaussian feature tensors (host tensors) for the flow tests.</summary>
internal static class TestFeatures
{
    /// <summary>A tensor of <paramref name="shape"/> with values N(0, std²) drawn from <paramref name="random"/>.</summary>
    public static Tensor Gaussian(SeededRandom random, double std, params int[] shape)
    {
        var t = new Tensor(shape);
        Span<float> s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)(std * random.NextGaussian());
        return t;
    }

    /// <summary>One N×C_l×H_l×W_l batch per scale of <paramref name="config"/>, finest first.</summary>
    public static Tensor[] Features(UFlowConfig config, int batch, SeededRandom random, double std = 1.0)
        => config.Scales.Select(s => Gaussian(random, std, batch, s.Channels, s.Height, s.Width)).ToArray();

    /// <summary>CS-Flow's three scales of Gaussian values: N×C×H×W, H/2, H/4.</summary>
    public static Tensor[] CsFlowScales(int batch, int channels, int height, int width, ulong seed, double std = 1.0)
    {
        var random = new SeededRandom(seed);
        return Enumerable.Range(0, 3).Select(s => Gaussian(random, std, batch, channels, height >> s, width >> s)).ToArray();
    }
}
