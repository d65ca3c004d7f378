using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Flows;

// The managed engine's trainer, not the ML.NET estimator of the same name in Microsoft.ML.UFlow.
using UFlowTrainer = Microsoft.ML.UFlow.Flows.UFlowTrainer;

/// <summary>The training loop: loss decreases, LR schedule, seeded reproducibility, early stopping, divergence handling.</summary>
public class UFlowTrainerTests
{
    internal static UFlowConfig Config => new([new(4, 8, 8), new(8, 4, 4)]) { Seed = 1 };

    internal static InMemoryFeatureSource Data(int samples, ulong seed = 2)
    {
        var random = new SeededRandom(seed);
        // Correlated, shifted features so there is something to learn.
        Tensor fine = TestFeatures.Gaussian(random, 0.5, samples, 4, 8, 8);
        Tensor coarse = TestFeatures.Gaussian(random, 2.0, samples, 8, 4, 4);
        TensorPrimitives.Add(fine.Span, 1.5f, fine.Span);
        return new InMemoryFeatureSource([fine, coarse]);
    }

    [Fact]
    public void LossDecreasesAndScheduleIsLinearPerEpoch()
    {
        var flow = new UShapedFlow(Config);
        var options = new UFlowTrainingOptions { LearningRate = 1e-3, BatchSize = 5, Epochs = 12, LearningRateTotalIters = 10 };
        UFlowTrainingResult result = new UFlowTrainer(flow, options).Train(Data(13));
        Assert.Equal(12, result.Epochs.Count);
        Assert.True(result.Epochs[^1].Loss < result.Epochs[0].Loss - 10, $"loss {result.Epochs[0].Loss} -> {result.Epochs[^1].Loss}");
        Assert.Equal(1e-3, result.Epochs[0].LearningRate, 12);
        Assert.Equal(1e-3 * (1 - 0.6 * 5 / 10.0), result.Epochs[5].LearningRate, 12);
        Assert.Equal(0.4e-3, result.Epochs[11].LearningRate, 12);
        Assert.False(result.StoppedEarly);
    }

    [Fact]
    public void SameSeedGivesBitIdenticalWeights()
    {
        float[] Train()
        {
            var flow = new UShapedFlow(Config);
            new UFlowTrainer(flow, new UFlowTrainingOptions { LearningRate = 1e-3, BatchSize = 4, Epochs = 2, Seed = 7 }).Train(Data(10));
            return flow.Parameters.SelectMany(p => p.Value.Span.ToArray()).ToArray();
        }
        Assert.Equal(Train(), Train());
    }

    [Fact]
    public void EarlyStoppingRestoresTheBestEpoch()
    {
        var flow = new UShapedFlow(Config);
        float[]? weightsAtEpoch1 = null;
        var reports = new List<UFlowEpochReport>();
        var options = new UFlowTrainingOptions
        {
            LearningRate = 1e-3,
            BatchSize = 8,
            Epochs = 50,
            EarlyStoppingPatience = 3,
            ValidationMetric = (f, epoch) =>
            {
                if (epoch == 1) weightsAtEpoch1 = f.Parameters.SelectMany(p => p.Value.Span.ToArray()).ToArray();
                return epoch == 1 ? 0.9 : 0.5;
            },
            EpochCompleted = reports.Add,
        };
        UFlowTrainingResult result = new UFlowTrainer(flow, options).Train(Data(8));
        Assert.Equal(5, result.Epochs.Count); // epoch 1 best, then 3 without improvement allowed, stop after the 4th
        Assert.True(result.StoppedEarly);
        Assert.Equal(1, result.BestEpoch);
        Assert.Equal(0.9, result.BestMetric);
        Assert.Equal(5, reports.Count);
        Assert.Equal(weightsAtEpoch1, flow.Parameters.SelectMany(p => p.Value.Span.ToArray()).ToArray());
    }

    [Fact]
    public void CallbackCanStopTraining()
    {
        var flow = new UShapedFlow(Config);
        var options = new UFlowTrainingOptions { Epochs = 10, EpochCompleted = r => r.StopRequested = r.Epoch == 2 };
        Assert.Equal(3, new UFlowTrainer(flow, options).Train(Data(4)).Epochs.Count);
    }

    [Fact]
    public void NonFiniteLossStopsWithTheEpochAndKeepsLastGoodWeights()
    {
        var flow = new UShapedFlow(Config);
        var source = new PoisonedSource(Data(6), poisonFromRead: 5); // read 0 summarises the data, then 2 batches per epoch: epoch 2 reads the poison
        float[]? afterEpoch1 = null;
        var options = new UFlowTrainingOptions
        {
            LearningRate = 1e-3,
            BatchSize = 3,
            Epochs = 5,
            EpochCompleted = r => { if (r.Epoch == 1) afterEpoch1 = flow.Parameters.SelectMany(p => p.Value.Span.ToArray()).ToArray(); },
        };
        var e = Assert.Throws<FlowTrainingDivergedException>(() => new UFlowTrainer(flow, options).Train(source));
        Assert.Equal(2, e.Epoch);
        Assert.Contains("epoch 2", e.Message);
        Assert.Equal(afterEpoch1, flow.Parameters.SelectMany(p => p.Value.Span.ToArray()).ToArray());
    }

    [Fact]
    public void MicroBatchGradientsAddUpToTheBatchGradient()
    {
        // 4 + 2 samples: unequal micro-batches, so averaging each over itself instead of over the batch would differ.
        var flow = new UShapedFlow(Config);
        var trainer = new UFlowTrainer(flow);
        InMemoryFeatureSource data = Data(6);
        Tensor[] batch = [new Tensor(1), new Tensor(1)];
        float[] Gradients() => flow.Parameters.SelectMany(p => p.Grad.Span.ToArray()).ToArray();

        trainer.Optimizer.ZeroGrad();
        data.ReadBatch([0, 1, 2, 3, 4, 5], batch);
        double wholeLoss = trainer.ComputeGradients(batch);
        float[] whole = Gradients();

        trainer.Optimizer.ZeroGrad();
        data.ReadBatch([0, 1, 2, 3], batch);
        double first = trainer.ComputeGradients(batch, gradientBatchSize: 6);
        data.ReadBatch([4, 5], batch);
        double second = trainer.ComputeGradients(batch, gradientBatchSize: 6);
        float[] accumulated = Gradients();

        Assert.Equal(wholeLoss, (4 * first + 2 * second) / 6, 1e-9 * Math.Abs(wholeLoss));
        float scale = TensorPrimitives.MaxMagnitude(whole);
        Assert.True(scale > 0);
        for (int i = 0; i < whole.Length; i++) Assert.True(Math.Abs(whole[i] - accumulated[i]) <= 1e-5f * scale, $"gradient {i}: {whole[i]} vs {accumulated[i]}");
        Assert.Throws<ArgumentOutOfRangeException>(() => trainer.ComputeGradients(batch, gradientBatchSize: 1));
    }

    [Fact]
    public void MicroBatchTrainingMatchesWholeBatchTrainingWithSmallerPasses()
    {
        (float[] Weights, double[] Losses, int LargestRead) Train(int? micro)
        {
            var flow = new UShapedFlow(Config);
            var source = new ReadSizeRecorder(Data(13));
            var options = new UFlowTrainingOptions { LearningRate = 1e-3, BatchSize = 6, MicroBatchSize = micro, Epochs = 3, Seed = 5 };
            UFlowTrainingResult result = new UFlowTrainer(flow, options).Train(source);
            return (flow.Parameters.SelectMany(p => p.Value.Span.ToArray()).ToArray(), result.Epochs.Select(e => e.Loss).ToArray(), source.Largest);
        }
        var whole = Train(null);
        var micro = Train(4);
        Assert.Equal(6, whole.LargestRead);
        Assert.Equal(4, micro.LargestRead);
        for (int e = 0; e < whole.Losses.Length; e++) Assert.Equal(whole.Losses[e], micro.Losses[e], 1e-5 * Math.Abs(whole.Losses[e]));
        for (int i = 0; i < whole.Weights.Length; i++) Assert.True(Math.Abs(whole.Weights[i] - micro.Weights[i]) <= 1e-4f, $"weight {i}: {whole.Weights[i]} vs {micro.Weights[i]}");
        Assert.Throws<ArgumentOutOfRangeException>(() => new UFlowTrainer(new UShapedFlow(Config), new UFlowTrainingOptions { MicroBatchSize = 0 }));
    }

    private sealed class ReadSizeRecorder(IFeatureBatchSource inner) : IFeatureBatchSource
    {
        public int Largest { get; private set; }

        public int Count => inner.Count;

        public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination)
        {
            Largest = Math.Max(Largest, sampleIndices.Length);
            inner.ReadBatch(sampleIndices, destination);
        }
    }

    private sealed class PoisonedSource(IFeatureBatchSource inner, int poisonFromRead) : IFeatureBatchSource
    {
        private int _reads;

        public int Count => inner.Count;

        public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination)
        {
            inner.ReadBatch(sampleIndices, destination);
            if (_reads++ >= poisonFromRead) destination[0].Span[0] = float.NaN;
        }
    }
}
