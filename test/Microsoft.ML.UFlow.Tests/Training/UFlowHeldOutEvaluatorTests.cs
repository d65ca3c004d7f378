using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tests.Onnx;
using Microsoft.ML.UFlow.Training;
using static TorchSharp.torch;
using HostTensor = Microsoft.ML.UFlow.Tensors.Tensor;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// The held-out evaluation of a trained flow against a brute-force recomputation, one image at a time: the mean z² per
/// scale from the latents of the exported ONNX graph, the loss from those latents and the TorchSharp flow's log-determinant.
/// </summary>
public sealed class UFlowHeldOutEvaluatorTests
{
    private static readonly UFlowConfig Config = new([new(4, 8, 8), new(8, 4, 4)]) { Seed = 3, FeatureLayerNorm = true };

    private static InMemoryFeatureSource Data(int samples, ulong seed)
    {
        var random = new SeededRandom(seed);
        HostTensor fine = TestFeatures.Gaussian(random, 0.5, samples, 4, 8, 8);
        HostTensor coarse = TestFeatures.Gaussian(random, 2.0, samples, 8, 4, 4);
        return new InMemoryFeatureSource([fine, coarse]);
    }

    [Fact]
    public void Held_out_metrics_equal_a_per_image_recomputation_from_the_exported_graph()
    {
        using var trainer = new UFlowTorchTrainer(Config, new UFlowTorchTrainingOptions { LearningRate = 1e-3, BatchSize = 4, Epochs = 3, Seed = 1 });
        trainer.Train(Data(12, 2));
        InMemoryFeatureSource heldOut = Data(5, 9);
        HeldOutEvaluation evaluation = new UFlowHeldOutEvaluator(heldOut, 2, batchSize: 3).Evaluate(trainer.Module); // batches of 3 and 2

        byte[] graph = UFlowOnnxExporter.Export(Config, trainer.GetState(), new FlowOnnxExportOptions { InputLayout = FlowGraphInputLayout.PerScale });
        using var runner = new OnnxGraphRunner(graph);
        var squares = new double[2];
        var counts = new long[2];
        double lossSum = 0;
        var sample = new[] { new HostTensor(1), new HostTensor(1) };
        for (int i = 0; i < heldOut.Count; i++)
        {
            heldOut.ReadBatch([i], sample);
            var outputs = runner.Run(new Dictionary<string, (float[], long[])>
            {
                ["Features0"] = OnnxGraphRunner.Input(sample[0]),
                ["Features1"] = OnnxGraphRunner.Input(sample[1]),
            });
            double half = 0;
            for (int l = 0; l < 2; l++)
            {
                float[] z = outputs[FlowGraphNames.Latent(l)].Floats!;
                double s = z.Sum(v => (double)v * v);
                squares[l] += s;
                counts[l] += z.Length;
                half += 0.5 * s;
            }
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            float logDet = trainer.Module.call(sample.Select(t => HostTensorCopy.ToTorch(t, CPU)).ToArray()).LogDet.item<float>();
            lossSum += half - logDet;
        }
        Assert.Equal(5, evaluation.Images);
        double loss = lossSum / heldOut.Count;
        Assert.True(Math.Abs(evaluation.Loss - loss) <= 1e-4 * Math.Abs(loss), $"held-out loss {evaluation.Loss}, recomputed {loss}");
        for (int l = 0; l < 2; l++)
        {
            double expected = squares[l] / counts[l];
            Assert.True(Math.Abs(evaluation.MeanSquarePerScale[l] - expected) <= 1e-5 * expected, $"scale {l}: mean z² {evaluation.MeanSquarePerScale[l]}, recomputed {expected}");
        }
        // Not trivially 1: the test would not notice a constant.
        Assert.All(evaluation.MeanSquarePerScale, v => Assert.NotEqual(1.0, v, 3));
    }
}
