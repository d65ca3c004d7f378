using System.Diagnostics;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Training;
using Microsoft.ML.UFlow.Training;

namespace Microsoft.ML.UFlow.Tests.Onnx;

/// <summary>
/// The exported U-Flow graph, run by ONNX Runtime, against the TorchSharp flow (<see cref="UFlowModule"/>) holding the
/// same state dictionary, with the anomaly map and image score of <see cref="AnomalyMap"/> on its latents, on random
/// flows whose parameters are moved away from their initial values: every latent, the anomaly map and the image score,
/// with the tolerances in <see cref="LatentRtol"/> etc. (allclose: |ort − torch| ≤ atol + rtol·|torch| for every element).
/// </summary>
/// <remarks>
/// The tiny configurations multiply the subnet weights by 3 (<see cref="FlowTestModules.Perturb"/>) so that the clamp
/// saturates; the presets keep PyTorch's default subnet initialisation (perturbing only the global affine and LayerNorm),
/// because tripled weights over 64×64 maps with up to 96 channels drive latents to |z| ≈ 10⁴, where float32's own
/// rounding (≈ 1e-6 of the largest value, the same in both engines' sums) exceeds any elementwise tolerance on the small
/// values.
/// </remarks>
public sealed class UFlowOnnxParityTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>
    /// Latents: relative 1e-4 of the value plus 2e-4 absolute: float32 convolutions summed in another order, through up to
    /// 12 steps; the largest error measured, 1.05e-4 on |z| ≤ 8.8, is in the ResNet-50 v2 preset (336 channels at 64×64).
    /// </summary>
    internal const double LatentRtol = 1e-4, LatentAtol = 2e-4;

    /// <summary>Anomaly map and score (values in [0, 1]): 1e-5 absolute.</summary>
    internal const double MapAtol = 1e-5;

    public static TheoryData<string> TinyConfigs => new(["two_scales", "two_scales_layernorm", "three_scales", "ratio4", "single_scale_odd", "non_square"]);

    internal static UFlowConfig Tiny(string name) => name switch
    {
        "two_scales" => new UFlowConfig([new(6, 8, 8), new(16, 4, 4)]) { Seed = 3 },
        "two_scales_layernorm" => new UFlowConfig([new(6, 8, 8), new(16, 4, 4)]) { FeatureLayerNorm = true, Seed = 4 },
        "three_scales" => new UFlowConfig([new(3, 16, 16), new(8, 8, 8), new(16, 4, 4)]) { FeatureLayerNorm = true, Seed = 5 },
        "ratio4" => new UFlowConfig([new(5, 16, 16), new(64, 4, 4)]) { FlowSteps = 2, Seed = 6 },
        "single_scale_odd" => new UFlowConfig([new(7, 6, 5)]) { FlowSteps = 3, SubnetChannelsRatio = 0.5, AffineClamp = 1.5f, FeatureLayerNorm = true, Seed = 7 },
        "non_square" => new UFlowConfig([new(6, 8, 12), new(16, 4, 6)]) { FlowSteps = 2, Seed = 8 },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(TinyConfigs))]
    public void TinyConfigurationsMatchTorchSharp(string name)
    {
        // Map sizes above, equal to and below the finest latent exercise up- and downsampling of the Resize.
        foreach (int mapSize in new[] { 20, 8, 6 }) Check(Tiny(name), batch: 2, mapSize, FlowGraphInputLayout.Concatenated, seed: 11, label: $"{name} S={mapSize}");
    }

    [Fact]
    public void A_rectangular_MobileNetV2_sized_flow_matches_TorchSharp_on_a_map_of_the_input_aspect()
    {
        // A 320x256 (W×H) input: MobileNetV2's maps 64x80, 32x40, 16x20; the map keeps the aspect, 256 rows of 320.
        var config = new UFlowConfig([new(24, 64, 80), new(32, 32, 40), new(96, 16, 20)]) { FeatureLayerNorm = true, Seed = 5 };
        Check(config, batch: 1, mapSize: 256, FlowGraphInputLayout.Concatenated, seed: 16, label: "mobilenetv2@320x256", subnetFactor: 1f, expectedMap: (256, 320));
    }

    [Fact]
    public void PerScaleInputsMatchTorchSharp()
        => Check(Tiny("three_scales"), batch: 3, mapSize: 32, FlowGraphInputLayout.PerScale, seed: 12, label: "three_scales per-scale");

    [Fact]
    public void MobileNetV2PresetMatchesTorchSharp()
    {
        var config = UFlowConfig.MobileNetV2(256, seed: 1);
        Check(config, batch: 2, mapSize: 256, FlowGraphInputLayout.Concatenated, seed: 13, label: "mobilenetv2@256", subnetFactor: 1f, timeRuns: 5);
    }

    [Fact]
    public void ResNet50V2PresetMatchesTorchSharp()
        => Check(UFlowConfig.ResNet50V2(256, seed: 2), batch: 1, mapSize: 256, FlowGraphInputLayout.Concatenated, seed: 14, label: "resnet50v2@256", subnetFactor: 1f);

    [Fact]
    public void MsCaitPresetMatchesTorchSharp()
        => Check(UFlowConfig.MsCait(seed: 3), batch: 1, mapSize: 256, FlowGraphInputLayout.Concatenated, seed: 15, label: "mscait", subnetFactor: 1f);

    [Fact]
    public void PredictedLabelIsScoreAboveThreshold()
    {
        UFlowConfig config = Tiny("two_scales");
        using UFlowModule module = FlowTestModules.PerturbedUFlow(config, new SeededRandom(21));
        Tensor[] features = TestFeatures.Features(config, 4, new SeededRandom(22), std: 1.5);
        float[] scores = AnomalyMap.ImageScores(AnomalyMap.Compute(FlowTestModules.Forward(module, features).Latents, 16));
        float threshold = scores.Order().ElementAt(1) + 1e-4f;   // between the 2nd and 3rd score (they differ by far more than 1e-4)
        Assert.True(scores.Order().ElementAt(2) > threshold + 1e-4f, "The 2nd and 3rd scores must be apart for the threshold test.");
        byte[] model = UFlowOnnxExporter.Export(config, UFlowStateDictionary.Export(module), new FlowOnnxExportOptions { MapSize = 16, Threshold = threshold });
        using var runner = new OnnxGraphRunner(model);
        var outputs = runner.Run(new Dictionary<string, (float[], long[])> { [FlowGraphNames.DefaultInput] = OnnxGraphRunner.Concatenate(features) });
        bool[] labels = outputs[FlowGraphNames.PredictedLabel].Bools!;
        Assert.Equal(scores.Select(s => s > threshold), labels);
        Assert.Equal(2, labels.Count(l => l));
    }

    [Fact]
    public void WithoutThresholdThereIsNoPredictedLabel()
    {
        UFlowConfig config = Tiny("two_scales");
        byte[] model = UFlowOnnxExporter.Export(config, FlowTestModules.UFlowState(config));
        using var runner = new OnnxGraphRunner(model);
        Assert.Equal(["Latent0", "Latent1", "AnomalyMap", "Score"], runner.OutputNames);
        Assert.Equal([FlowGraphNames.DefaultInput], runner.InputNames);
        Assert.Equal([-1, 6 * 64 + 16 * 16], runner.DeclaredShape(FlowGraphNames.DefaultInput));
        Assert.Equal([-1, 256, 256], runner.DeclaredShape(FlowGraphNames.AnomalyMap));
        Assert.Equal([-1], runner.DeclaredShape(FlowGraphNames.Score));
        UFlowPlan plan = config.Plan();
        Assert.Equal([-1, plan.LatentChannels[0], 8, 8], runner.DeclaredShape("Latent0"));
        Assert.Equal([-1, plan.LatentChannels[1], 4, 4], runner.DeclaredShape("Latent1"));
    }

    private void Check(UFlowConfig config, int batch, int mapSize, FlowGraphInputLayout layout, ulong seed, string label, float subnetFactor = 3f, int timeRuns = 0,
        (int Height, int Width)? expectedMap = null)
    {
        // The map grid: S×S for square latents, else the latents' aspect with the shorter side S (the non_square tiny
        // flow's 8x12 latents give 20x30, 8x12 and 6x9).
        var (mapHeight, mapWidth) = MapGrid.For(mapSize, config.Scales[0].Height, config.Scales[0].Width);
        if (expectedMap is { } expected) Assert.Equal(expected, (mapHeight, mapWidth));
        int h = config.Scales[0].Height, w = config.Scales[0].Width;
        Assert.Equal(mapSize, Math.Min(mapHeight, mapWidth));
        Assert.True(Math.Abs((double)mapWidth * h - (double)mapHeight * w) <= 0.5 * Math.Max(h, w), $"{mapHeight}x{mapWidth} is not the aspect of {h}x{w}"); // longer side rounded
        var random = new SeededRandom(seed);
        using UFlowModule module = FlowTestModules.PerturbedUFlow(config, random, subnetFactor);
        Tensor[] features = TestFeatures.Features(config, batch, random, std: 1.5);

        Tensor[] latents = FlowTestModules.Forward(module, features).Latents;
        Tensor map = AnomalyMap.Compute(latents, mapHeight, mapWidth);
        float[] scores = AnomalyMap.ImageScores(map);

        var watch = Stopwatch.StartNew();
        byte[] model = UFlowOnnxExporter.Export(config, UFlowStateDictionary.Export(module), new FlowOnnxExportOptions { MapSize = mapSize, InputLayout = layout });
        double exportSeconds = watch.Elapsed.TotalSeconds;
        using var runner = new OnnxGraphRunner(model);
        var inputs = new Dictionary<string, (float[], long[])>();
        if (layout == FlowGraphInputLayout.Concatenated)
        {
            inputs[FlowGraphNames.DefaultInput] = OnnxGraphRunner.Concatenate(features);
        }
        else
        {
            for (int l = 0; l < features.Length; l++) inputs[FlowGraphNames.PerScaleInput(FlowGraphNames.DefaultInput, l)] = OnnxGraphRunner.Input(features[l]);
        }
        var outputs = runner.Run(inputs);

        for (int l = 0; l < config.Scales.Count; l++)
        {
            GraphOutput z = outputs[FlowGraphNames.Latent(l)];
            Assert.Equal(latents[l].Shape.ToArray().Select(d => (long)d), z.Shape);
            Closeness.Assert($"{label} Latent{l}", z.Floats, latents[l].Span, LatentRtol, LatentAtol, output);
        }
        Assert.Equal([batch, mapHeight, mapWidth], outputs[FlowGraphNames.AnomalyMap].Shape);
        Closeness.Assert($"{label} AnomalyMap", outputs[FlowGraphNames.AnomalyMap].Floats, map.Span, 0, MapAtol, output);
        Assert.Equal([batch], outputs[FlowGraphNames.Score].Shape);
        Closeness.Assert($"{label} Score", outputs[FlowGraphNames.Score].Floats, scores, 0, MapAtol, output);

        if (timeRuns > 0)
        {
            // One image through each: ONNX Runtime (flow, map and score) and TorchSharp (flow, then the host map).
            Tensor[] first = features.Select(Slice0).ToArray();
            var one = new Dictionary<string, (float[], long[])> { [FlowGraphNames.DefaultInput] = OnnxGraphRunner.Concatenate(first) };
            runner.Run(one);
            watch.Restart();
            for (int i = 0; i < timeRuns; i++) runner.Run(one);
            double ortPerImage = watch.Elapsed.TotalSeconds / timeRuns;
            AnomalyMap.Compute(FlowTestModules.Forward(module, first).Latents, mapHeight, mapWidth);
            watch.Restart();
            for (int i = 0; i < timeRuns; i++) AnomalyMap.Compute(FlowTestModules.Forward(module, first).Latents, mapHeight, mapWidth);
            double torchPerImage = watch.Elapsed.TotalSeconds / timeRuns;
            output.WriteLine($"{label}: graph {model.Length / 1e6:F2} MB, {config.CountTrainableParameters()} parameters, export {exportSeconds * 1e3:F0} ms; " +
                $"ORT {ortPerImage * 1e3:F1} ms per image, TorchSharp forward + map {torchPerImage * 1e3:F1} ms per image (batch 1, means of {timeRuns})");
        }
    }

    private static Tensor Slice0(Tensor batch)
    {
        var one = new Tensor(1, batch.C, batch.H, batch.W);
        batch.Sample(0).CopyTo(one.Span);
        return one;
    }
}
