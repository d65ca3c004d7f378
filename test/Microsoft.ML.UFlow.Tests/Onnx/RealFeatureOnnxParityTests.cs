using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.UFlow.Benchmarks.Featurization;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Infrastructure;
using Microsoft.ML.UFlow.Tests.Training;
using Microsoft.ML.UFlow.Training;

namespace Microsoft.ML.UFlow.Tests.Onnx;

/// <summary>
/// Parity of the exported graphs with the TorchSharp flows holding the same state on real MobileNetV2 features
/// (../shared) of two bottle images, one good and one broken, at 256 px: U-Flow on <c>stride4</c>, <c>stride8</c>,
/// <c>stride16</c> (the <see cref="UFlowConfig.MobileNetV2"/> preset, LayerNorm on) and CS-Flow on <c>stride16</c> at
/// 256, 128 and 64 px (96 channels at 16², 8², 4²). Tolerances as in <see cref="UFlowOnnxParityTests"/> and
/// <see cref="CsFlowOnnxParityTests"/>.
/// </summary>
public sealed class RealFeatureOnnxParityTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Backbone = "mobilenetv2_1.0_imagenet_features.onnx";

    [SharedDataFact]
    public void UFlowMatchesTorchSharpOnMobileNetV2Features()
    {
        Tensor[] features = Extract(LoadBottles(), ["stride4", "stride8", "stride16"]);
        UFlowConfig config = UFlowConfig.MobileNetV2(256, seed: 5);
        using UFlowModule module = FlowTestModules.PerturbedUFlow(config, new SeededRandom(6), subnetFactor: 1f);
        Tensor[] latents = FlowTestModules.Forward(module, features).Latents;
        Tensor map = AnomalyMap.Compute(latents, 256);
        float[] scores = AnomalyMap.ImageScores(map);

        using var runner = new OnnxGraphRunner(UFlowOnnxExporter.Export(config, UFlowStateDictionary.Export(module)));
        var outputs = runner.Run(new Dictionary<string, (float[], long[])> { [FlowGraphNames.DefaultInput] = OnnxGraphRunner.Concatenate(features) });
        for (int l = 0; l < 3; l++)
        {
            Closeness.Assert($"real U-Flow Latent{l}", outputs[FlowGraphNames.Latent(l)].Floats, latents[l].Span, UFlowOnnxParityTests.LatentRtol, UFlowOnnxParityTests.LatentAtol, output);
        }
        Closeness.Assert("real U-Flow AnomalyMap", outputs[FlowGraphNames.AnomalyMap].Floats, map.Span, 0, UFlowOnnxParityTests.MapAtol, output);
        Closeness.Assert("real U-Flow Score", outputs[FlowGraphNames.Score].Floats, scores, 0, UFlowOnnxParityTests.MapAtol, output);
    }

    [SharedDataFact]
    public void CsFlowMatchesTorchSharpOnMobileNetV2Features()
    {
        Tensor[] scales = CsFlowInputScales.Make(LoadBottles());
        Tensor[] features = scales.Select(s => Extract(s, ["stride16"])[0]).ToArray();
        var options = new CsFlowNetworkOptions { Channels = 96, HiddenChannels = 64, Seed = 7 };
        using CsFlowModule module = FlowTestModules.CsFlowWithGammas(options, 8);
        (Tensor[] latents, float[] scores, Tensor map) = FlowTestModules.Score(module, features, 256);

        using var runner = new OnnxGraphRunner(CsFlowOnnxExporter.Export(options, 16, 16, CsFlowStateDictionary.From(module)));
        var outputs = runner.Run(new Dictionary<string, (float[], long[])> { [FlowGraphNames.DefaultInput] = OnnxGraphRunner.Concatenate(features) });
        for (int s = 0; s < 3; s++)
        {
            Closeness.Assert($"real CS-Flow Latent{s}", outputs[FlowGraphNames.Latent(s)].Floats, latents[s].Span, CsFlowOnnxParityTests.LatentRtol, CsFlowOnnxParityTests.LatentAtol, output);
        }
        Closeness.Assert("real CS-Flow Score", outputs[FlowGraphNames.Score].Floats, scores, CsFlowOnnxParityTests.ScoreRtol, 0, output);
        Closeness.Assert("real CS-Flow AnomalyMap", outputs[FlowGraphNames.AnomalyMap].Floats, map.Span, CsFlowOnnxParityTests.MapRtol, CsFlowOnnxParityTests.MapAtol, output);
    }

    // A good and a broken bottle, normalised, [2, 3, 256, 256].
    private static Tensor LoadBottles()
    {
        string bottle = SharedData.Bottle ?? throw new InvalidOperationException(SharedData.MissingMessage);
        string[] paths = [Path.Combine(bottle, "train", "good", "000.png"), Path.Combine(bottle, "test", "broken_large", "000.png")];
        var batch = new Tensor(2, 3, 256, 256);
        for (int i = 0; i < paths.Length; i++) ImagePreprocessing.LoadImage(paths[i], 256).Span.CopyTo(batch.Sample(i));
        return batch;
    }

    // Runs the MobileNetV2 backbone with ONNX Runtime and returns the named outputs as NCHW tensors.
    private static Tensor[] Extract(Tensor images, string[] outputNames)
    {
        string model = SharedData.File("models", Backbone) ?? throw new InvalidOperationException(SharedData.MissingMessage);
        using var session = new InferenceSession(model);
        using var input = OrtValue.CreateTensorValueFromMemory(images.Span.ToArray(), images.Shape.ToArray().Select(d => (long)d).ToArray());
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["input"], [input], outputNames);
        return results.Select(r => new Tensor(r.GetTensorDataAsSpan<float>().ToArray(), r.GetTensorTypeAndShape().Shape.Select(d => (int)d).ToArray())).ToArray();
    }
}
