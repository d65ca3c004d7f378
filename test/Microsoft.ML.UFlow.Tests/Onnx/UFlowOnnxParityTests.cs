using System.Diagnostics;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Flows;

namespace Microsoft.ML.UFlow.Tests.Onnx;

/// <summary>
/// The exported U-Flow graph, run by ONNX Runtime, against version 1's managed forward pass (<see cref="UShapedFlow"/>,
/// <see cref="AnomalyMap"/>) on random flows whose parameters are moved away from their initial values: every latent,
/// the anomaly map and the image score, with the tolerances in <see cref="LatentRtol"/> etc. (allclose:
/// |ort − v1| ≤ atol + rtol·|v1| for every element).
/// </summary>
/// <remarks>
/// The tiny configurations multiply the subnet weights by 3 (<see cref="FlowTestData.Perturb"/>) so that the clamp
/// saturates; the presets keep PyTorch's default subnet initialisation (perturbing only the global affine and LayerNorm),
/// because tripled weights over 64×64 maps with up to 96 channels drive latents to |z| ≈ 10⁴, where float32's own
/// rounding (≈ 1e-6 of the largest value, the same in both engines' sums) exceeds any elementwise tolerance on the small
/// values.
/// </remarks>
public sealed class UFlowOnnxParityTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>
    /// Latents: relative 1e-4 of the value plus 2e-4 absolute: float32 convolutions summed in another order, through up to
    /// 12 steps; the largest error measured, 1.0e-4 on |z| ≤ 8.8, is in the ResNet-50 v2 preset (336 channels at 64×64).
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
    public void TinyConfigurationsMatchVersion1(string name)
    {
        // Map sizes above, equal to and below the finest latent exercise up- and downsampling of the Resize.
        foreach (int mapSize in new[] { 20, 8, 6 }) Check(Tiny(name), batch: 2, mapSize, FlowGraphInputLayout.Concatenated, seed: 11, label: $"{name} S={mapSize}");
    }

    [Fact]
    public void PerScaleInputsMatchVersion1()
        => Check(Tiny("three_scales"), batch: 3, mapSize: 32, FlowGraphInputLayout.PerScale, seed: 12, label: "three_scales per-scale");

    [Fact]
    public void MobileNetV2PresetMatchesVersion1()
    {
        var config = UFlowConfig.MobileNetV2(256, seed: 1);
        Check(config, batch: 2, mapSize: 256, FlowGraphInputLayout.Concatenated, seed: 13, label: "mobilenetv2@256", subnetFactor: 1f, timeRuns: 5);
    }

    [Fact]
    public void ResNet50V2PresetMatchesVersion1()
        => Check(UFlowConfig.ResNet50V2(256, seed: 2), batch: 1, mapSize: 256, FlowGraphInputLayout.Concatenated, seed: 14, label: "resnet50v2@256", subnetFactor: 1f);

    [Fact]
    public void MsCaitPresetMatchesVersion1()
        => Check(UFlowConfig.MsCait(seed: 3), batch: 1, mapSize: 256, FlowGraphInputLayout.Concatenated, seed: 15, label: "mscait", subnetFactor: 1f);

    [Fact]
    public void PredictedLabelIsScoreAboveThreshold()
    {
        UFlowConfig config = Tiny("two_scales");
        var flow = new UShapedFlow(config);
        FlowTestData.Perturb(flow, new SeededRandom(21));
        Tensor[] features = FlowTestData.Features(config, 4, new SeededRandom(22), std: 1.5);
        float[] scores = AnomalyMap.ImageScores(AnomalyMap.Compute(flow.Forward(features).Latents, 16));
        float threshold = scores.Order().ElementAt(1) + 1e-4f;   // between the 2nd and 3rd score (they differ by far more than 1e-4)
        byte[] model = UFlowOnnxExporter.Export(config, FlowStateDictionary.Of(flow), new FlowOnnxExportOptions { MapSize = 16, Threshold = threshold });
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
        byte[] model = UFlowOnnxExporter.Export(config, FlowStateDictionary.Of(new UShapedFlow(config)));
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

    /// <summary>Moves global scale/offset and LayerNorm affine by N(0, 0.3²) and multiplies the subnet weights by <paramref name="subnetFactor"/>.</summary>
    internal static void Perturb(UShapedFlow flow, SeededRandom random, float subnetFactor)
    {
        if (subnetFactor == 3f)
        {
            FlowTestData.Perturb(flow, random);
            return;
        }
        foreach (Parameter p in flow.Parameters)
        {
            Span<float> v = p.Value.Span;
            bool affine = p.Name.EndsWith(".global_scale", StringComparison.Ordinal) || p.Name.EndsWith(".global_offset", StringComparison.Ordinal) || p.Name.StartsWith("layernorm", StringComparison.Ordinal);
            for (int i = 0; i < v.Length; i++) v[i] = affine ? v[i] + (float)(0.3 * random.NextGaussian()) : v[i] * subnetFactor;
        }
    }

    private void Check(UFlowConfig config, int batch, int mapSize, FlowGraphInputLayout layout, ulong seed, string label, float subnetFactor = 3f, int timeRuns = 0)
    {
        var random = new SeededRandom(seed);
        var flow = new UShapedFlow(config);
        Perturb(flow, random, subnetFactor);
        Tensor[] features = FlowTestData.Features(config, batch, random, std: 1.5);

        var watch = Stopwatch.StartNew();
        FlowOutput v1 = flow.Forward(features);
        double v1Seconds = watch.Elapsed.TotalSeconds;
        Tensor map = AnomalyMap.Compute(v1.Latents, mapSize);
        float[] scores = AnomalyMap.ImageScores(map);

        watch.Restart();
        byte[] model = UFlowOnnxExporter.Export(config, FlowStateDictionary.Of(flow), new FlowOnnxExportOptions { MapSize = mapSize, InputLayout = layout });
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
            Assert.Equal(v1.Latents[l].Shape.ToArray().Select(d => (long)d), z.Shape);
            Closeness.Assert($"{label} Latent{l}", z.Floats, v1.Latents[l].Span, LatentRtol, LatentAtol, output);
        }
        Assert.Equal([batch, mapSize, mapSize], outputs[FlowGraphNames.AnomalyMap].Shape);
        Closeness.Assert($"{label} AnomalyMap", outputs[FlowGraphNames.AnomalyMap].Floats, map.Span, 0, MapAtol, output);
        Assert.Equal([batch], outputs[FlowGraphNames.Score].Shape);
        Closeness.Assert($"{label} Score", outputs[FlowGraphNames.Score].Floats, scores, 0, MapAtol, output);

        if (timeRuns > 0)
        {
            var one = new Dictionary<string, (float[], long[])> { [FlowGraphNames.DefaultInput] = OnnxGraphRunner.Concatenate(features.Select(Slice0).ToArray()) };
            runner.Run(one);
            watch.Restart();
            for (int i = 0; i < timeRuns; i++) runner.Run(one);
            double ortPerImage = watch.Elapsed.TotalSeconds / timeRuns;
            output.WriteLine($"{label}: graph {model.Length / 1e6:F2} MB, {config.CountTrainableParameters()} parameters, export {exportSeconds * 1e3:F0} ms; " +
                $"ORT {ortPerImage * 1e3:F1} ms per image (batch 1, mean of {timeRuns}); version 1 forward {v1Seconds / batch * 1e3:F1} ms per image (batch {batch}, flow only)");
        }
    }

    private static Tensor Slice0(Tensor batch)
    {
        var one = new Tensor(1, batch.C, batch.H, batch.W);
        batch.Sample(0).CopyTo(one.Span);
        return one;
    }
}
