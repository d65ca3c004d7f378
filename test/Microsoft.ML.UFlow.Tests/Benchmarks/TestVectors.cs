using System.Text.Json;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Benchmarks;

/// <summary>The ../shared/models/testvectors files: a normalised 1x3x256x256 input and the expected statistics of every output.</summary>
internal static class TestVectors
{
    public sealed record Expected(string Name, int[] Shape, double Mean, double Std, double Min, double Max, double[] First8);

    public static string Model(string stem) => SharedData.File("models", stem + ".onnx")
        ?? throw new FileNotFoundException($"../shared/models/{stem}.onnx is missing.");

    public static Tensor Input(string stem)
    {
        string path = SharedData.File("models", "testvectors", stem + "_input_dog_256.f32")
            ?? throw new FileNotFoundException($"Test vector input for {stem} is missing.");
        byte[] bytes = File.ReadAllBytes(path);
        var t = new Tensor(1, 3, 256, 256);
        Assert.Equal(t.Length * 4, bytes.Length);
        for (int i = 0; i < t.Length; i++) t.Span[i] = BitConverter.ToSingle(bytes, 4 * i);
        return t;
    }

    public static List<Expected> Outputs(string stem)
    {
        string path = SharedData.File("models", "testvectors", stem + "_expected.json")
            ?? throw new FileNotFoundException($"Test vector expectations for {stem} are missing.");
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
        var list = new List<Expected>();
        foreach (JsonProperty o in doc.RootElement.GetProperty("outputs").EnumerateObject())
        {
            JsonElement e = o.Value;
            list.Add(new Expected(o.Name,
                e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                e.GetProperty("mean").GetDouble(), e.GetProperty("std").GetDouble(),
                e.GetProperty("min").GetDouble(), e.GetProperty("max").GetDouble(),
                e.GetProperty("first8").EnumerateArray().Select(x => x.GetDouble()).ToArray()));
        }
        return list;
    }

    /// <summary>
    /// Asserts shape, mean, std (population), min, max and the first 8 values within relative error 1e-4. A value closer to
    /// zero than a tenth of the output's std is measured relative to that tenth instead of its own size: such values come
    /// from cancellation and differ between CPUs' kernels by more than 1e-4 of themselves (MobileNetV2 stride32[3] =
    /// -0.0036 differs by 1.3e-6 here, 3.7e-4 of itself, with every optimisation level and thread count).
    /// </summary>
    public static void AssertMatches(Expected expected, Tensor actual)
    {
        Assert.True(actual.SameShape(expected.Shape), $"{expected.Name}: shape {actual} != {Tensor.Format(expected.Shape)}");
        ReadOnlySpan<float> v = actual.Span;
        double sum = 0, min = double.MaxValue, max = double.MinValue;
        foreach (float x in v) { sum += x; min = Math.Min(min, x); max = Math.Max(max, x); }
        double mean = sum / v.Length, sq = 0;
        foreach (float x in v) sq += (x - mean) * (x - mean);
        double std = Math.Sqrt(sq / v.Length);
        double floor = 0.1 * expected.Std;
        AssertClose(expected.Name + ".mean", expected.Mean, mean, Math.Max(Math.Abs(expected.Mean), floor));
        AssertClose(expected.Name + ".std", expected.Std, std, expected.Std);
        AssertClose(expected.Name + ".min", expected.Min, min, Math.Abs(expected.Min));
        AssertClose(expected.Name + ".max", expected.Max, max, Math.Abs(expected.Max));
        for (int i = 0; i < expected.First8.Length; i++)
        {
            AssertClose($"{expected.Name}[{i}]", expected.First8[i], v[i], Math.Max(Math.Abs(expected.First8[i]), floor));
        }
    }

    private static void AssertClose(string what, double expected, double actual, double scale)
    {
        double tolerance = 1e-4 * scale;
        Assert.True(Math.Abs(actual - expected) <= tolerance, $"{what}: {actual:R} vs expected {expected:R} (tolerance {tolerance:G3})");
    }
}
