using System.Diagnostics;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Training;
using Microsoft.ML.UFlow.Training;

namespace Microsoft.ML.UFlow.Tests.Onnx;

/// <summary>
/// The exported CS-Flow graph, run by ONNX Runtime, against the TorchSharp <see cref="CsFlowModule"/> holding the same
/// state dictionary and <see cref="CsFlowTorchScoring"/>, on random networks with every γ moved away from 0 (so that every
/// subnetwork matters): the three latents (allclose rtol 1e-4, atol 1e-4), the image score (rtol 1e-5: float32 means in
/// both, summed in other orders) and the localisation map (rtol 1e-5, atol 1e-6).
/// </summary>
public sealed class CsFlowOnnxParityTests(Xunit.Abstractions.ITestOutputHelper output)
{
    internal const double LatentRtol = 1e-4, LatentAtol = 1e-4, ScoreRtol = 1e-5, MapRtol = 1e-5, MapAtol = 1e-6;

    [Fact]
    public void TinyNetworkMatchesTorchSharp()
    {
        var options = new CsFlowNetworkOptions { Channels = 7, HiddenChannels = 12, KernelSizes = [3, 1, 5], Alpha = 2.5f, Seed = 3 };
        Check(options, 8, 12, batch: 2, mapSize: 20, FlowGraphInputLayout.Concatenated, "tiny");
        Check(options, 8, 12, batch: 2, mapSize: 6, FlowGraphInputLayout.PerScale, "tiny per-scale, S=6");
    }

    [Fact]
    public void MobileNetV2SizedNetworkMatchesTorchSharp()
    {
        // MobileNetV2 stride16 (96 channels) on a 256 px input: maps 16×16, 8×8, 4×4; hidden 64 as in RESULTS.md's runs.
        var options = new CsFlowNetworkOptions { Channels = 96, HiddenChannels = 64, Seed = 4 };
        Check(options, 16, 16, batch: 2, mapSize: 256, FlowGraphInputLayout.Concatenated, "mobilenetv2-sized", timeRuns: 5);
    }

    private void Check(CsFlowNetworkOptions options, int height, int width, int batch, int mapSize, FlowGraphInputLayout layout, string label, int timeRuns = 0)
    {
        using CsFlowModule module = FlowTestModules.CsFlowWithGammas(options, 17);
        Tensor[] features = TestFeatures.CsFlowScales(batch, options.Channels, height, width, seed: 18, std: 1.5);
        (Tensor[] latents, float[] scores, Tensor map) = FlowTestModules.Score(module, features, mapSize);

        byte[] model = CsFlowOnnxExporter.Export(options, height, width, CsFlowStateDictionary.From(module), new FlowOnnxExportOptions { MapSize = mapSize, InputLayout = layout });
        using var runner = new OnnxGraphRunner(model);
        var inputs = new Dictionary<string, (float[], long[])>();
        if (layout == FlowGraphInputLayout.Concatenated)
        {
            inputs[FlowGraphNames.DefaultInput] = OnnxGraphRunner.Concatenate(features);
        }
        else
        {
            for (int s = 0; s < 3; s++) inputs[FlowGraphNames.PerScaleInput(FlowGraphNames.DefaultInput, s)] = OnnxGraphRunner.Input(features[s]);
        }
        var outputs = runner.Run(inputs);
        for (int s = 0; s < 3; s++)
        {
            GraphOutput z = outputs[FlowGraphNames.Latent(s)];
            Assert.Equal(latents[s].Shape.ToArray().Select(d => (long)d), z.Shape);
            Closeness.Assert($"{label} Latent{s}", z.Floats, latents[s].Span, LatentRtol, LatentAtol, output);
        }
        Assert.Equal([batch], outputs[FlowGraphNames.Score].Shape);
        Closeness.Assert($"{label} Score", outputs[FlowGraphNames.Score].Floats, scores, ScoreRtol, 0, output);
        // 8x12 latents keep their aspect: S = 20 gives 20 rows of 30, S = 6 gives 6 of 9.
        var (mapHeight, mapWidth) = height == width ? (mapSize, mapSize) : (mapSize, mapSize * width / height);
        Assert.Equal([batch, mapHeight, mapWidth], outputs[FlowGraphNames.AnomalyMap].Shape);
        Closeness.Assert($"{label} AnomalyMap", outputs[FlowGraphNames.AnomalyMap].Floats, map.Span, MapRtol, MapAtol, output);

        if (timeRuns > 0)
        {
            // One image through each: ONNX Runtime (flow, score and map) and TorchSharp (the same, in libtorch).
            Tensor[] first = features.Select(First).ToArray();
            var one = new Dictionary<string, (float[], long[])> { [FlowGraphNames.DefaultInput] = OnnxGraphRunner.Concatenate(first) };
            runner.Run(one);
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < timeRuns; i++) runner.Run(one);
            double ortPerImage = watch.Elapsed.TotalSeconds / timeRuns;
            FlowTestModules.Score(module, first, mapSize);
            watch.Restart();
            for (int i = 0; i < timeRuns; i++) FlowTestModules.Score(module, first, mapSize);
            double torchPerImage = watch.Elapsed.TotalSeconds / timeRuns;
            long parameters = CsFlowStateDictionary.From(module).Where(e => !e.Key.Contains(".perm", StringComparison.Ordinal)).Sum(e => (long)e.Value.Values.Length);
            output.WriteLine($"{label}: graph {model.Length / 1e6:F2} MB, {parameters} parameters; ORT {ortPerImage * 1e3:F1} ms per image, " +
                $"TorchSharp {torchPerImage * 1e3:F1} ms per image (batch 1, means of {timeRuns})");
        }
    }

    private static Tensor First(Tensor batch)
    {
        var one = new Tensor(1, batch.C, batch.H, batch.W);
        batch.Sample(0).CopyTo(one.Span);
        return one;
    }
}
