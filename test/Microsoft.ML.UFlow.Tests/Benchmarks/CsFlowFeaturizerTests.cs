using Microsoft.ML.UFlow.Benchmarks.Featurization;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Infrastructure;
using Microsoft.ML.UFlow.Tests.Training;
using Microsoft.ML.UFlow.Training;

namespace Microsoft.ML.UFlow.Tests.Benchmarks;

public class CsFlowFeaturizerTests
{
    /// <summary>A "backbone" of stride 4 that keeps every 4th pixel and reuses its output buffer, as real featurizers do.</summary>
    private sealed class Stride4 : IFeaturizer
    {
        private readonly Tensor _out = new(1);
        public bool Disposed { get; private set; }
        public IReadOnlyList<string> OutputNames => ["s4"];
        public IReadOnlyList<FeatureMapInfo> Describe(int height, int width) => [new("s4", 3, height / 4, width / 4, 4)];
        public IReadOnlyList<Tensor> Extract(Tensor batch)
        {
            Tensor r = CsFlowInputScales.NearestResize(batch, batch.H / 4, batch.W / 4);
            _out.EnsureShape(r.Shape.ToArray());
            r.Span.CopyTo(_out.Span);
            return [_out];
        }
        public void Dispose() => Disposed = true;
    }

    [Fact]
    public void ExtractsOneMapPerInputScaleAndCopiesOutOfTheBackboneBuffer()
    {
        var backbone = new Stride4();
        using (var featurizer = new CsFlowFeaturizer(backbone))
        {
            var x = new Tensor(2, 3, 32, 32);
            for (int i = 0; i < x.Length; i++) x.Span[i] = i;
            IReadOnlyList<Tensor> maps = featurizer.Extract(x);
            Assert.Equal([8, 4, 2], maps.Select(m => m.H));
            // Scale 1 = every 2nd pixel of the input, then every 4th of that: input pixel (8, 8) for map (1, 1).
            Assert.Equal(x[1, 2, 8, 8], maps[1][1, 2, 1, 1]);
            Assert.Equal(x[0, 0, 16, 0], maps[2][0, 0, 1, 0]);
            Assert.NotSame(maps[0], maps[1]);
            Assert.Equal([8, 4, 2], featurizer.Describe(32, 32).Select(i => i.Height));
            Assert.Equal([4, 8, 16], featurizer.Describe(32, 32).Select(i => i.Stride));
            Assert.Throws<ArgumentException>(() => featurizer.Describe(40, 40));
        }
        Assert.True(backbone.Disposed);
    }

    [SharedDataFact]
    public void MobileNetV2Stride16GivesThreeHalvingMapsThatTheFlowAccepts()
    {
        string model = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        using var featurizer = new CsFlowFeaturizer(new OnnxFeaturizer(model, ["stride16"]));
        Tensor[] image = TestFeatures.CsFlowScales(1, 3, 128, 128, 1);
        IReadOnlyList<Tensor> maps = featurizer.Extract(image[0]);
        Assert.Equal(["96x8x8", "96x4x4", "96x2x2"], maps.Select(m => $"{m.C}x{m.H}x{m.W}"));
        // The half-scale map equals the backbone run directly on the nearest-downsampled input.
        using var direct = new OnnxFeaturizer(model, ["stride16"]);
        Tensor half = direct.Extract(CsFlowInputScales.NearestResize(image[0], 64, 64))[0];
        Assert.Equal(half.Span.ToArray(), maps[1].Span.ToArray());
        using var network = new CsFlowModule(new CsFlowNetworkOptions { Channels = 96, HiddenChannels = 8, KernelSizes = [3] });
        Assert.All(FlowTestModules.Score(network, maps, 16).Scores, s => Assert.True(float.IsFinite(s) && s > 0));
    }
}
