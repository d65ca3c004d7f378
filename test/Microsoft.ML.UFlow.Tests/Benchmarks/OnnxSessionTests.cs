using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.UFlow.Benchmarks.Featurization;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Benchmarks;

/// <summary>
/// The ONNX Runtime that the Microsoft.ML.OnnxRuntime package brings (no separately installed library), and the session
/// wrapper the featurizers share, on the small CaiT-shaped coarse model checked in under Fixtures/Ort.
/// </summary>
public sealed class OnnxSessionTests
{
    private static readonly OnnxRuntimeOptions TwoThreads = new() { IntraOpNumThreads = 2 };

    private static OnnxSession OpenCoarse() => OnnxSession.FromFile(MsCaitFixtures.File("mscait_coarse.onnx"), TwoThreads);

    [Fact]
    public void RuntimeIsThePackagesVersion132WithTheCpuProvider()
    {
        Assert.StartsWith("1.32.", OnnxSession.RuntimeVersion);
        Assert.Equal(OrtEnv.Instance().GetVersionString(), OnnxSession.RuntimeVersion);
        Assert.Contains("CPUExecutionProvider", OnnxSession.AvailableProviders);
    }

    [LinuxFact] // reads the loaded libraries from /proc/self/maps
    public void NativeLibraryIsLoadedFromThePackagesRuntimesFolder()
    {
        using (OnnxSession session = OpenCoarse())
        {
            session.Run(session.Inputs[0].Name, new Tensor(1, 3, 224, 224), [session.Outputs[0].Name], [new Tensor(1)]);
        }
        string[] mapped = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && Path.GetFileName(fields[5]).StartsWith("libonnxruntime.so", StringComparison.Ordinal))
            .Select(fields => fields[5]).Distinct().ToArray();
        string library = Assert.Single(mapped);
        // The package's file (runtimes/<rid>/native/libonnxruntime.so), not the npm library libonnxruntime.so.1 of version 1.
        Assert.Equal("libonnxruntime.so", Path.GetFileName(library));
        Assert.Equal("native", Path.GetFileName(Path.GetDirectoryName(library)));
    }

    [Fact]
    public void MetadataNamesAndShapesTheModelsInputAndOutput()
    {
        using OnnxSession session = OpenCoarse();
        OnnxTensorInfo input = Assert.Single(session.Inputs);
        OnnxTensorInfo output = Assert.Single(session.Outputs);
        Assert.True(input.IsFloatTensor);
        Assert.True(output.IsFloatTensor);
        Assert.Equal(4, input.Dimensions.Length);
        Assert.Equal(new long[] { 3, 224, 224 }, input.Dimensions[1..]);
        Assert.Equal(3, output.Dimensions.Length);
        Assert.False(session.UsesGpu);
        Assert.Contains("mscait_coarse.onnx", session.Model);
    }

    [Fact]
    public void RunCopiesOutputsIntoReusedDestinationsAndBatchesIndependently()
    {
        using OnnxSession session = OpenCoarse();
        string input = session.Inputs[0].Name;
        string[] outputs = [session.Outputs[0].Name];
        Tensor batch = MsCaitFixtures.Pattern(2, 224);
        Tensor[] together = [new Tensor(1)];
        session.Run(input, batch, outputs, together);
        Assert.Equal(3, together[0].Rank);
        Assert.Equal(2, together[0].Shape[0]);
        float[] buffer = together[0].Buffer;

        // A second run of the same shape writes into the same buffer, and each sample equals its run alone.
        var single = new Tensor(1, 3, 224, 224);
        Tensor[] alone = [new Tensor(1)];
        float[] expected = together[0].Span.ToArray();
        int perSample = together[0].Length / 2;
        for (int n = 0; n < 2; n++)
        {
            batch.Sample(n).CopyTo(single.Span);
            session.Run(input, single, outputs, alone);
            ReadOnlySpan<float> a = alone[0].Span;
            for (int i = 0; i < perSample; i++)
            {
                float e = expected[n * perSample + i];
                Assert.True(Math.Abs(a[i] - e) <= 1e-5f * Math.Max(1f, Math.Abs(e)), $"sample {n} index {i}: {a[i]} vs {e}");
            }
        }
        session.Run(input, batch, outputs, together);
        Assert.Same(buffer, together[0].Buffer);
        Assert.Equal(expected, together[0].Span.ToArray());
    }

    [Fact]
    public void WrongInputShapeNamesTheModelAndInputAndKeepsOrtsError()
    {
        using OnnxSession session = OpenCoarse();
        var e = Assert.Throws<InvalidOperationException>(() =>
            session.Run(session.Inputs[0].Name, new Tensor(1, 3, 100, 100), [session.Outputs[0].Name], [new Tensor(1)]));
        Assert.Contains("mscait_coarse.onnx", e.Message);
        Assert.Contains($"'{session.Inputs[0].Name}'", e.Message);
        Assert.IsType<OnnxRuntimeException>(e.InnerException);
    }

    [Fact]
    public void UnknownOutputIsRejectedWithTheModelAndTheAvailableOutputs()
    {
        using OnnxSession session = OpenCoarse();
        var e = Assert.Throws<ArgumentException>(() => session.OutputIndex("nope"));
        Assert.Contains("'nope'", e.Message);
        Assert.Contains("mscait_coarse.onnx", e.Message);
        Assert.Contains(session.Outputs[0].ToString(), e.Message);
    }

    [Fact]
    public void DisposeIsIdempotentAndRunAfterItThrows()
    {
        OnnxSession session = OpenCoarse();
        string input = session.Inputs[0].Name, output = session.Outputs[0].Name;
        session.Dispose();
        session.Dispose();
        Assert.Throws<ObjectDisposedException>(() => session.Run(input, new Tensor(1, 3, 224, 224), [output], [new Tensor(1)]));
    }
}
