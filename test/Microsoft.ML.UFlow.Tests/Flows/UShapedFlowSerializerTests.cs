using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Flows;

/// <summary>Save/load round trip (bit-exact weights, permutations and outputs), version and corruption handling.</summary>
public sealed class UShapedFlowSerializerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("uflow-flow-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static UShapedFlow TrainedFlow()
    {
        var flow = new UShapedFlow(UShapedFlowExactnessTests.ThreeScales(layerNorm: true));
        FlowTestData.Perturb(flow, new SeededRandom(1));
        return flow;
    }

    [Fact]
    public void RoundTripIsBitExact()
    {
        UShapedFlow flow = TrainedFlow();
        string path = Path.Combine(_dir, "flow.bin");
        UShapedFlowSerializer.Save(flow, path);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        UShapedFlow loaded = UShapedFlowSerializer.Load(path);
        Assert.Equal(flow.Config.ToString(), loaded.Config.ToString());
        for (int l = 0; l < flow.ScaleCount; l++)
        {
            for (int s = 0; s < flow.Config.FlowSteps; s++) Assert.True(flow.Stage(l)[s].Permutation.SequenceEqual(loaded.Stage(l)[s].Permutation));
        }
        for (int i = 0; i < flow.Parameters.Count; i++)
        {
            Assert.Equal(flow.Parameters[i].Name, loaded.Parameters[i].Name);
            Assert.True(flow.Parameters[i].Value.Span.SequenceEqual(loaded.Parameters[i].Value.Span));
        }
        Tensor[] x = TestFeatures.Features(flow.Config, 2, new SeededRandom(3));
        FlowOutput a = flow.Forward(x);
        float[][] za = a.Latents.Select(t => t.Span.ToArray()).ToArray();
        float[] lda = a.LogDet.Span.ToArray();
        FlowOutput b = loaded.Forward(x);
        for (int l = 0; l < za.Length; l++) Assert.Equal(za[l], b.Latents[l].Span.ToArray());
        Assert.Equal(lda, b.LogDet.Span.ToArray());
        // Saving the loaded flow gives the same bytes.
        string again = Path.Combine(_dir, "again.bin");
        UShapedFlowSerializer.Save(loaded, again);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(again));
    }

    [Fact]
    public void NewerVersionIsRefusedClearly()
    {
        var stream = new MemoryStream();
        UShapedFlowSerializer.Save(TrainedFlow(), stream);
        byte[] bytes = stream.ToArray();
        BitConverter.GetBytes(UShapedFlowSerializer.FormatVersion + 1).CopyTo(bytes, 8);
        var e = Assert.Throws<InvalidDataException>(() => UShapedFlowSerializer.Load(new MemoryStream(bytes), "model.bin"));
        Assert.Contains("newer", e.Message);
        Assert.Contains("model.bin", e.Message);
    }

    [Fact]
    public void TruncatedOrForeignFilesAreRefused()
    {
        var stream = new MemoryStream();
        UShapedFlowSerializer.Save(TrainedFlow(), stream);
        byte[] bytes = stream.ToArray();
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => UShapedFlowSerializer.Load(new MemoryStream(bytes[..(bytes.Length / 2)]))).Message);
        Assert.Contains("signature", Assert.Throws<InvalidDataException>(() => UShapedFlowSerializer.Load(new MemoryStream(new byte[64]))).Message);
    }
}
