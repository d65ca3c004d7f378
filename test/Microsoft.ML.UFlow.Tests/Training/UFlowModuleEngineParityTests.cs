using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tests.Flows;
using Microsoft.ML.UFlow.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;
using HostTensor = Microsoft.ML.UFlow.Tensors.Tensor;

namespace Microsoft.ML.UFlow.Tests.Training;

// The managed engine's trainer, not the ML.NET estimator of the same name in Microsoft.ML.UFlow.
using UFlowTrainer = Microsoft.ML.UFlow.Flows.UFlowTrainer;

/// <summary>
/// The TorchSharp flow against v1's managed <see cref="UShapedFlow"/> on the same weights (imported with
/// <see cref="UFlowStateDictionary.FromManaged"/>): the same state names and shapes; MobileNetV2's three scales at input
/// 128 (24@32², 32@16², 96@8², LayerNorm on), weights moved away from their initial values, random features: latents and
/// log-det agree within rtol 1e-5, atol 2e-6·max|·|, the loss within rtol 1e-5; the same permutation convention; and
/// training from the same weights and shuffle. Goes with the managed engine.
/// </summary>
public sealed class UFlowModuleEngineParityTests(ITestOutputHelper output)
{
    [Fact]
    public void Latents_logdet_and_loss_match_the_managed_engine_on_imported_weights()
    {
        UFlowConfig config = UFlowConfig.MobileNetV2(inputSize: 128, seed: 3);
        var flow = new UShapedFlow(config);
        var random = new SeededRandom(11);
        FlowTestData.Perturb(flow, random);
        HostTensor[] features = TestFeatures.Features(config, 2, random);

        FlowOutput managed = flow.Forward(features);
        double managedLoss = UFlowLoss.Compute(managed);

        using var module = new UFlowModule(config);
        UFlowStateDictionary.Load(module, UFlowStateDictionary.FromManaged(flow));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        (Tensor[] latents, Tensor logDet) = module.call(features.Select(f => HostTensorCopy.ToTorch(f, CPU)).ToArray());
        for (int l = 0; l < latents.Length; l++)
        {
            float[] expected = managed.Latents[l].Span.ToArray();
            Assert.Equal(managed.Latents[l].Shape.ToArray().Select(d => (long)d), latents[l].shape);
            TorchAssert.AllClose($"latent{l}", expected, HostTensorCopy.ToArray(latents[l]), 1e-5, 2e-6 * TorchAssert.MaxAbs(expected), output);
        }
        float[] expectedLogDet = managed.LogDet.Span.ToArray();
        TorchAssert.AllClose("logdet", expectedLogDet, HostTensorCopy.ToArray(logDet), 1e-5, 2e-6 * TorchAssert.MaxAbs(expectedLogDet), output);
        float loss = UFlowTorchLoss.Compute(latents, logDet).item<float>();
        TorchAssert.AllClose("loss", [(float)managedLoss], [loss], 1e-5, 0, output);
    }

    [Theory]
    [InlineData("mobilenetv2")]
    [InlineData("mscait")]
    [InlineData("resnet50v2")]
    public void State_names_and_shapes_equal_the_managed_flows(string preset)
    {
        UFlowConfig config = UFlowConfig.FromPreset(preset);
        if (preset == "resnet50v2") config = UFlowConfig.ResNet50V2(inputSize: 64); // same channels, smaller maps
        using var module = new UFlowModule(config);
        IReadOnlyDictionary<string, StateTensor> ours = UFlowStateDictionary.Export(module);
        IReadOnlyDictionary<string, StateTensor> managed = UFlowStateDictionary.FromManaged(new UShapedFlow(config));
        Assert.Equal(managed.Keys, ours.Keys); // same names in the same order
        foreach ((string name, StateTensor t) in managed) Assert.Equal(t.Shape, ours[name].Shape);
    }

    [Fact]
    public void The_managed_step_applies_and_exports_the_same_permutation()
    {
        // One step with a zero subnet: the step is its permutation, out[:, c] = in[:, perm[c]], on both engines.
        var config = new UFlowConfig([new(6, 3, 3)]) { FlowSteps = 1 };
        float[] perm = [3, 0, 5, 1, 4, 2];
        float[] input = Enumerable.Range(0, 2 * 6 * 9).Select(i => (float)i).ToArray();
        var flow = new UShapedFlow(config);
        flow.Stage(0)[0].SetPermutation(perm.Select(v => (int)v).ToArray());
        foreach (Parameter p in flow.Parameters.Where(p => p.Name.Contains(".subnet.", StringComparison.Ordinal))) p.Value.Clear();
        var expected = new float[input.Length];
        for (int n = 0; n < 2; n++)
        for (int c = 0; c < 6; c++)
        for (int p = 0; p < 9; p++)
            expected[(n * 6 + c) * 9 + p] = input[(n * 6 + (int)perm[c]) * 9 + p];
        TorchAssert.AllClose("managed", expected, flow.Forward([new HostTensor(input, 2, 6, 3, 3)]).Latents[0].Span, 1e-6, 0, output);
        Assert.Equal(perm, UFlowStateDictionary.FromManaged(flow)["stage0.step0.perm"].Values);
    }

    [Fact]
    public void Training_follows_the_managed_engine_from_the_same_weights_and_order()
    {
        // Same initial weights (imported), same shuffle seed: the two engines' epoch losses agree closely.
        UFlowConfig config = UFlowTorchTrainerTests.Config;
        var managedFlow = new UShapedFlow(config);
        var managed = new UFlowTrainer(managedFlow, new UFlowTrainingOptions { LearningRate = 1e-3, BatchSize = 4, Epochs = 4, Seed = 3 }).Train(UFlowTorchTrainerTests.Data(11));
        using var trainer = new UFlowTorchTrainer(config, new UFlowTorchTrainingOptions { LearningRate = 1e-3, BatchSize = 4, Epochs = 4, Seed = 3 });
        UFlowStateDictionary.Load(trainer.Module, UFlowStateDictionary.FromManaged(new UShapedFlow(config)));
        var ours = trainer.Train(UFlowTorchTrainerTests.Data(11));
        for (int e = 0; e < 4; e++)
        {
            output.WriteLine($"epoch {e}: managed {managed.Epochs[e].Loss:F5}, TorchSharp {ours.Epochs[e].Loss:F5}");
            Assert.Equal(managed.Epochs[e].Loss, ours.Epochs[e].Loss, 1e-4 * Math.Abs(managed.Epochs[e].Loss));
        }
        float[] expected = UFlowStateDictionary.FromManaged(managedFlow).Where(e => !e.Key.EndsWith(".perm", StringComparison.Ordinal)).SelectMany(e => e.Value.Values).ToArray();
        TorchAssert.AllClose("weights after 4 epochs", expected, UFlowTorchTrainerTests.Weights(trainer), 0, 1e-6, output);
    }
}
