using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;
using HostTensor = Microsoft.ML.UFlow.Tensors.Tensor;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// The TorchSharp training loop with v1's semantics: reproducibility, a falling loss, the learning-rate schedule,
/// micro-batches, continuation, early stopping, divergence and bad features, the device check (memory: <see cref="UFlowTorchTrainerMemoryTests"/>).
/// </summary>
public sealed class UFlowTorchTrainerTests(ITestOutputHelper output)
{
    internal static UFlowConfig Config => new([new(4, 8, 8), new(8, 4, 4)]) { Seed = 1 };

    private static UFlowConfig LayerNormConfig => new([new(4, 8, 8), new(8, 4, 4)]) { Seed = 1, FeatureLayerNorm = true };

    // Correlated, shifted features so there is something to learn (as v1's trainer tests).
    internal static InMemoryFeatureSource Data(int samples, ulong seed = 2)
    {
        var random = new SeededRandom(seed);
        HostTensor fine = TestFeatures.Gaussian(random, 0.5, samples, 4, 8, 8);
        HostTensor coarse = TestFeatures.Gaussian(random, 2.0, samples, 8, 4, 4);
        TensorPrimitives.Add(fine.Span, 1.5f, fine.Span);
        return new InMemoryFeatureSource([fine, coarse]);
    }

    internal static float[] Weights(UFlowTorchTrainer trainer) => trainer.GetState().Where(e => !e.Key.EndsWith(".perm", StringComparison.Ordinal)).SelectMany(e => e.Value.Values).ToArray();

    [Fact]
    public void The_same_seeds_give_bit_identical_state()
    {
        IReadOnlyDictionary<string, StateTensor> Train()
        {
            using var trainer = new UFlowTorchTrainer(LayerNormConfig, new UFlowTorchTrainingOptions { LearningRate = 1e-3, BatchSize = 4, Epochs = 3, Seed = 7 });
            trainer.Train(Data(10));
            return trainer.GetState();
        }
        IReadOnlyDictionary<string, StateTensor> a = Train(), b = Train();
        Assert.Equal(a.Keys, b.Keys);
        foreach (string key in a.Keys) Assert.Equal(a[key].Values, b[key].Values);
    }

    [Fact]
    public void The_loss_falls_and_the_learning_rate_follows_the_linear_schedule_per_epoch()
    {
        var options = new UFlowTorchTrainingOptions { LearningRate = 1e-3, BatchSize = 5, Epochs = 12, LearningRateTotalIters = 10 };
        using var trainer = new UFlowTorchTrainer(Config, options);
        UFlowTrainingResult result = trainer.Train(Data(13));
        Assert.Equal(12, result.Epochs.Count);
        output.WriteLine($"loss {result.Epochs[0].Loss:F3} -> {result.Epochs[^1].Loss:F3}");
        Assert.True(result.Epochs[^1].Loss < result.Epochs[0].Loss - 10, $"loss {result.Epochs[0].Loss} -> {result.Epochs[^1].Loss}");
        Assert.Equal(1e-3, result.Epochs[0].LearningRate, 12);
        Assert.Equal(1e-3 * (1 - 0.6 * 5 / 10.0), result.Epochs[5].LearningRate, 12);
        Assert.Equal(0.4e-3, result.Epochs[11].LearningRate, 12);
        Assert.Equal(0.4e-3, trainer.Optimizer.LearningRate, 12);
        Assert.False(result.StoppedEarly);
        Assert.Equal(12, trainer.CompletedEpochs);
    }

    [Fact]
    public void Micro_batches_give_the_whole_batch_update()
    {
        (float[] Weights, double[] Losses, int LargestRead) Train(int? micro)
        {
            using var trainer = new UFlowTorchTrainer(LayerNormConfig, new UFlowTorchTrainingOptions { LearningRate = 1e-3, BatchSize = 6, MicroBatchSize = micro, Epochs = 3, Seed = 5 });
            var source = new ReadSizeRecorder(Data(13));
            UFlowTrainingResult result = trainer.Train(source);
            return (Weights(trainer), result.Epochs.Select(e => e.Loss).ToArray(), source.Largest);
        }
        var whole = Train(null);
        var micro = Train(4);
        Assert.Equal(6, whole.LargestRead);
        Assert.Equal(4, micro.LargestRead);
        for (int e = 0; e < whole.Losses.Length; e++) Assert.Equal(whole.Losses[e], micro.Losses[e], 1e-5 * Math.Abs(whole.Losses[e]));
        TorchAssert.AllClose("weights", whole.Weights, micro.Weights, 0, 1e-6, output);
        Assert.Throws<ArgumentOutOfRangeException>(() => new UFlowTorchTrainer(Config, new UFlowTorchTrainingOptions { MicroBatchSize = 0 }));
    }

    [Fact]
    public void A_continued_run_equals_an_uninterrupted_one()
    {
        using var once = new UFlowTorchTrainer(Config, new UFlowTorchTrainingOptions { LearningRate = 1e-3, BatchSize = 4, Epochs = 4, Seed = 2 });
        once.Train(Data(9));
        using var twice = new UFlowTorchTrainer(Config, new UFlowTorchTrainingOptions { LearningRate = 1e-3, BatchSize = 4, Epochs = 2, Seed = 2 });
        twice.Train(Data(9));
        twice.Options.Epochs = 4;
        UFlowTrainingResult rest = twice.Train(Data(9));
        Assert.Equal([2, 3], rest.Epochs.Select(e => e.Epoch));
        Assert.Equal(Weights(once), Weights(twice));
        Assert.Contains("needs the same training data", Assert.Throws<ArgumentException>(() => twice.Train(Data(8))).Message);
    }

    [Fact]
    public void Early_stopping_restores_the_best_epoch()
    {
        float[]? weightsAtEpoch1 = null;
        var reports = new List<UFlowEpochReport>();
        var options = new UFlowTorchTrainingOptions
        {
            LearningRate = 1e-3,
            BatchSize = 8,
            Epochs = 50,
            EarlyStoppingPatience = 3,
            EpochCompleted = reports.Add,
        };
        using var trainer = new UFlowTorchTrainer(Config, options);
        options.ValidationMetric = (module, epoch) =>
        {
            Assert.Same(trainer.Module, module);
            Assert.False(is_grad_enabled());
            if (epoch == 1) weightsAtEpoch1 = Weights(trainer);
            return epoch == 1 ? 0.9 : 0.5;
        };
        UFlowTrainingResult result = trainer.Train(Data(8));
        Assert.Equal(5, result.Epochs.Count); // epoch 1 best, then 3 without improvement, stop after the 4th
        Assert.True(result.StoppedEarly);
        Assert.Equal(1, result.BestEpoch);
        Assert.Equal(0.9, result.BestMetric);
        Assert.Equal(5, reports.Count);
        Assert.True(trainer.BestWeightsRestored);
        Assert.Equal(weightsAtEpoch1, Weights(trainer));
    }

    [Fact]
    public void A_non_finite_loss_stops_naming_epoch_and_step_and_keeps_the_last_good_weights()
    {
        // Finite but huge features in epoch 2, step 1: z² overflows float32.
        float[]? afterEpoch1 = null;
        UFlowTorchTrainer? trainer = null;
        var options = new UFlowTorchTrainingOptions
        {
            LearningRate = 1e-3,
            BatchSize = 3,
            Epochs = 5,
            EpochCompleted = r => { if (r.Epoch == 1) afterEpoch1 = Weights(trainer!); },
        };
        using (trainer = new UFlowTorchTrainer(Config, options))
        {
            // Read 0 summarises the data (first and last sample), then 2 batches per epoch: read 6 is epoch 2, step 1.
            var source = new ScaledSource(Data(6), fromRead: 6, value: 1e30f);
            var e = Assert.Throws<FlowTrainingDivergedException>(() => trainer.Train(source));
            Assert.Equal(2, e.Epoch);
            Assert.Equal(1, e.Batch);
            Assert.Contains("epoch 2 (batch 1)", e.Message);
            Assert.Contains("loss", e.Message);
            Assert.Equal(afterEpoch1, Weights(trainer));
            Assert.Equal(2, trainer.CompletedEpochs);
        }
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Bad_features_stop_naming_epoch_step_scale_and_sample(float bad)
    {
        using var trainer = new UFlowTorchTrainer(Config, new UFlowTorchTrainingOptions { LearningRate = 1e-3, BatchSize = 3, Epochs = 5, Seed = 1 });
        float[] initial = Weights(trainer);
        var data = Data(6);
        var source = new ScaledSource(data, fromRead: 0, value: bad, scale: 1, onlySample: 4);
        var e = Assert.Throws<InvalidDataException>(() => trainer.Train(source));
        output.WriteLine(e.Message);
        Assert.Matches(@"epoch 0, step [01]: the features of sample 4 at scale 1 contain NaN or infinite values", e.Message);
        Assert.Equal(initial, Weights(trainer));
    }

    [Fact]
    public void A_cuda_device_with_the_cpu_backend_fails_at_once_naming_the_package()
    {
        if (cuda.is_available()) return; // a GPU machine with a CUDA backend: nothing to refuse
        var e = Assert.Throws<InvalidOperationException>(() => new UFlowTorchTrainer(Config, new UFlowTorchTrainingOptions { Device = "cuda" }));
        Assert.Contains("TorchSharp-cuda-linux", e.Message);
        Assert.Contains("'cuda'", e.Message);
        Assert.Throws<ArgumentException>(() => new UFlowTorchTrainer(Config, new UFlowTorchTrainingOptions { Device = "gpu" }));
    }

    private sealed class ReadSizeRecorder(IFeatureBatchSource inner) : IFeatureBatchSource
    {
        public int Largest { get; private set; }

        public int Count => inner.Count;

        public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<HostTensor> destination)
        {
            Largest = Math.Max(Largest, sampleIndices.Length);
            inner.ReadBatch(sampleIndices, destination);
        }
    }

    // From the given read on, sets every value of one scale (optionally of one sample only) to `value`.
    private sealed class ScaledSource(IFeatureBatchSource inner, int fromRead, float value, int scale = 0, int onlySample = -1) : IFeatureBatchSource
    {
        private int _reads;

        public int Count => inner.Count;

        public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<HostTensor> destination)
        {
            inner.ReadBatch(sampleIndices, destination);
            if (_reads++ < fromRead) return;
            for (int i = 0; i < sampleIndices.Length; i++)
            {
                if (onlySample < 0 || sampleIndices[i] == onlySample) destination[scale].Sample(i).Fill(value);
            }
        }
    }
}
