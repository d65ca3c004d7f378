using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Flows;

/// <summary>The training loop: loss decreases, LR schedule, seeded reproducibility, early stopping, divergence handling.</summary>
public class UFlowTrainerTests
{
    private static UFlowConfig Config => new([new(4, 8, 8), new(8, 4, 4)]) { Seed = 1 };

    private static InMemoryFeatureSource Data(int samples, ulong seed = 2)
    {
        var random = new SeededRandom(seed);
        // Correlated, shifted features so there is something to learn.
        Tensor fine = FlowTestData.Gaussian(random, 0.5, samples, 4, 8, 8);
        Tensor coarse = FlowTestData.Gaussian(random, 2.0, samples, 8, 4, 4);
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
        var source = new PoisonedSource(Data(6), poisonFromRead: 4); // 2 batches per epoch: epoch 2 reads the poison
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
