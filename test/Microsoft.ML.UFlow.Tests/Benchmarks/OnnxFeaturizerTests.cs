using Microsoft.ML.UFlow.Benchmarks.Featurization;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Benchmarks;

/// <summary>Featurizer behaviour on the small MobileNetV2 backbone at 64x64 (fast): batching, probing, errors, GPU requests.</summary>
public sealed class OnnxFeaturizerTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string MobileNet = "mobilenetv2_1.0_imagenet_features";
    private static readonly string[] Scales = ["stride4", "stride8", "stride16"];
    private static readonly OnnxRuntimeOptions TwoThreads = new() { IntraOpNumThreads = 2 };

    private static Tensor RandomBatch(int n, int size, ulong seed)
    {
        var rng = new SeededRandom(seed);
        var t = new Tensor(n, 3, size, size);
        for (int i = 0; i < t.Length; i++) t.Span[i] = (float)rng.NextGaussian();
        return t;
    }

    [SharedDataFact]
    public void BatchOfTwoEqualsTwoSingleImagesAndOutputsFollowTheRequestedOrder()
    {
        using var featurizer = new OnnxFeaturizer(TestVectors.Model(MobileNet), ["stride16", "stride4", "stride8"], TwoThreads);
        Tensor batch = RandomBatch(2, 64, 7);
        Tensor[] together = featurizer.Extract(batch).Select(t => t.Clone()).ToArray();
        Assert.Equal([96, 24, 32], together.Select(t => t.C));
        Assert.Equal([4, 16, 8], together.Select(t => t.H));
        for (int n = 0; n < 2; n++)
        {
            var single = new Tensor(1, 3, 64, 64);
            batch.Sample(n).CopyTo(single.Span);
            IReadOnlyList<Tensor> alone = featurizer.Extract(single);
            for (int s = 0; s < 3; s++)
            {
                Span<float> a = together[s].Sample(n), b = alone[s].Sample(0);
                for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5f + 1e-4f * Math.Abs(b[i]), $"scale {s} sample {n} index {i}: {a[i]} vs {b[i]}");
            }
        }
    }

    [SharedDataFact]
    public void OutputTensorsAreReusedAcrossCallsOfTheSameShape()
    {
        using var featurizer = new OnnxFeaturizer(TestVectors.Model(MobileNet), Scales, TwoThreads);
        IReadOnlyList<Tensor> first = featurizer.Extract(RandomBatch(1, 64, 1));
        float[] before = first[0].Buffer;
        IReadOnlyList<Tensor> second = featurizer.Extract(RandomBatch(1, 64, 2));
        Assert.Same(first[0], second[0]);
        Assert.Same(before, second[0].Buffer);
    }

    [SharedDataFact]
    public void DescribeReportsChannelsSizesAndStrides()
    {
        using var featurizer = new OnnxFeaturizer(TestVectors.Model(MobileNet), Scales, TwoThreads);
        IReadOnlyList<FeatureMapInfo> infos = featurizer.Describe(256, 256);
        Assert.Equal(new FeatureMapInfo("stride4", 24, 64, 64, 4), infos[0]);
        Assert.Equal(new FeatureMapInfo("stride8", 32, 32, 32, 8), infos[1]);
        Assert.Equal(new FeatureMapInfo("stride16", 96, 16, 16, 16), infos[2]);
    }

    [SharedDataFact]
    public void ModelFromBytesGivesTheSameFeaturesAsFromFile()
    {
        string path = TestVectors.Model(MobileNet);
        Tensor batch = RandomBatch(1, 64, 3);
        using var fromFile = new OnnxFeaturizer(path, ["stride8"], TwoThreads);
        using OnnxFeaturizer fromBytes = OnnxFeaturizer.FromBytes(File.ReadAllBytes(path), ["stride8"], TwoThreads);
        Assert.Equal(fromFile.Extract(batch)[0].Span.ToArray(), fromBytes.Extract(batch)[0].Span.ToArray());
    }

    [Fact]
    public void MissingModelFileNamesTheFile()
    {
        var e = Assert.Throws<FileNotFoundException>(() => new OnnxFeaturizer("/nonexistent/backbone.onnx", ["x"]));
        Assert.Contains("/nonexistent/backbone.onnx", e.Message);
    }

    [Fact]
    public void InvalidModelBytesNameTheModelAndCarryOrtsError()
    {
        var e = Assert.Throws<InvalidOperationException>(() => OnnxFeaturizer.FromBytes([1, 2, 3, 4, 5], ["x"]));
        Assert.Contains("in-memory model (5 bytes)", e.Message);
        var inner = Assert.IsType<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(e.InnerException);
        Assert.Contains("InvalidProtobuf", inner.Message);
        Assert.Contains(inner.Message, e.Message);
    }

    [Fact]
    public void InvalidModelFileNamesTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"uflow-not-a-model-{Guid.NewGuid():N}.onnx");
        File.WriteAllText(path, "not an ONNX model");
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => new OnnxFeaturizer(path, ["x"]));
            Assert.Contains(path, e.Message);
            Assert.IsType<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(e.InnerException);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SharedDataFact]
    public void UnknownOutputNamesTheFileAndListsTheAvailableOutputs()
    {
        string path = TestVectors.Model(MobileNet);
        var e = Assert.Throws<ArgumentException>(() => new OnnxFeaturizer(path, ["stride4", "layer3"]));
        Assert.Contains("'layer3'", e.Message);
        Assert.Contains(Path.GetFullPath(path), e.Message);
        foreach (string name in new[] { "stride4", "stride8", "stride16", "stride32", "conv1280" }) Assert.Contains(name, e.Message);
    }

    [SharedDataFact]
    public void WrongChannelCountIsRejectedBeforeRunning()
    {
        using var featurizer = new OnnxFeaturizer(TestVectors.Model(MobileNet), Scales, TwoThreads);
        var e = Assert.Throws<ArgumentException>(() => featurizer.Extract(new Tensor(1, 1, 64, 64)));
        Assert.Contains("channel size 3", e.Message);
        Assert.Throws<ArgumentException>(() => featurizer.Extract(new Tensor(3, 64, 64)));
    }

    [CpuFallbackFact] // skipped, with the reason, where CUDA really works (nothing to fall back from)
    public void GpuRequestFallsBackToCpuOnlyWhenAllowed()
    {
        // The Microsoft.ML.OnnxRuntime package is CPU-only (its native library lacks the CUDA entry point), so a GPU cannot be used.
        string path = TestVectors.Model(CpuFallbackFactAttribute.ProbeModel);
        using var fallback = new OnnxFeaturizer(path, ["stride8"], new OnnxRuntimeOptions { GpuDeviceId = 0, FallbackToCpu = true, IntraOpNumThreads = 2 });
        Assert.False(fallback.UsesGpu, "the attribute's probe found no working GPU, yet this session opened one");
        using var cpu = new OnnxFeaturizer(path, ["stride8"], TwoThreads);
        Tensor batch = RandomBatch(1, 64, 4);
        Assert.Equal(cpu.Extract(batch)[0].Span.ToArray(), fallback.Extract(batch)[0].Span.ToArray());

        var e = Assert.Throws<InvalidOperationException>(() => new OnnxFeaturizer(path, ["stride8"], new OnnxRuntimeOptions { GpuDeviceId = 0, FallbackToCpu = false }));
        output.WriteLine(e.Message);
        Assert.Contains("GPU device 0", e.Message);
        Assert.Contains(Path.GetFullPath(path), e.Message);
        Assert.Contains("FallbackToCpu", e.Message);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu", e.Message);
        Assert.NotNull(e.InnerException);
    }

    [SharedDataFact]
    public void EveryOptimisationLevelAndThreadSettingGivesTheSameFeatures()
    {
        string path = TestVectors.Model(MobileNet);
        Tensor batch = RandomBatch(1, 64, 5);
        using var reference = new OnnxFeaturizer(path, ["stride16"], new OnnxRuntimeOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = OnnxGraphOptimizationLevel.Disabled });
        float[] expected = reference.Extract(batch)[0].Span.ToArray();
        foreach (OnnxGraphOptimizationLevel level in Enum.GetValues<OnnxGraphOptimizationLevel>())
        {
            using var other = new OnnxFeaturizer(path, ["stride16"], new OnnxRuntimeOptions { IntraOpNumThreads = 2, InterOpNumThreads = 2, GraphOptimizationLevel = level, AllowThreadSpinning = false });
            ReadOnlySpan<float> actual = other.Extract(batch)[0].Span;
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-4f * Math.Max(1f, Math.Abs(expected[i])), $"{level} at {i}: {actual[i]} vs {expected[i]}");
            }
        }
    }

    [SharedDataFact]
    public void DisposeIsIdempotentAndLaterCallsThrow()
    {
        var featurizer = new OnnxFeaturizer(TestVectors.Model(MobileNet), ["stride8"], TwoThreads);
        featurizer.Extract(RandomBatch(1, 64, 6));
        featurizer.Dispose();
        featurizer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => featurizer.Extract(RandomBatch(1, 64, 6)));
    }

    [Fact]
    public void NegativeThreadCountIsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxFeaturizer.FromBytes([1], ["x"], new OnnxRuntimeOptions { IntraOpNumThreads = -1 }));
    }
}
