using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tests.Flows;
using Microsoft.ML.UFlow.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;
using HostTensor = Microsoft.ML.UFlow.Tensors.Tensor;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// The TorchSharp flow against v1's managed <see cref="UShapedFlow"/> on the same weights (imported with
/// <see cref="UFlowStateDictionary.FromManaged"/>): MobileNetV2's three scales at input 128 (24@32², 32@16², 96@8²,
/// LayerNorm on), weights moved away from their initial values, random features. Latents and log-det agree within
/// rtol 1e-5, atol 2e-6·max|·|; the loss within rtol 1e-5.
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
        HostTensor[] features = FlowTestData.Features(config, 2, random);

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
}
