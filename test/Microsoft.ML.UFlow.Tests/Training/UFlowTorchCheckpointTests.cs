using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Training;
using HostTensor = Microsoft.ML.UFlow.Tensors.Tensor;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// TorchSharp training checkpoints with v1's semantics: a run continued from a checkpoint is bit-identical to one that
/// was not interrupted (weights, Adam's state, shuffle, early stopping and best weights); other settings, other data,
/// corrupt files, files of format version 1 (TorchSharp's own Adam state) and a flow holding restored best weights are refused
/// with messages naming the cause.
/// </summary>
public sealed class UFlowTorchCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("uflow-torch-ckpt-").FullName;

    private static UFlowConfig Config => new([new(4, 8, 8), new(8, 4, 4)]) { Seed = 3, FeatureLayerNorm = true };

    private static InMemoryFeatureSource Data(int samples, ulong seed = 2)
    {
        var random = new SeededRandom(seed);
        HostTensor fine = TestFeatures.Gaussian(random, 0.5, samples, 4, 8, 8);
        HostTensor coarse = TestFeatures.Gaussian(random, 2.0, samples, 8, 4, 4);
        TensorPrimitives.Add(fine.Span, 1.5f, fine.Span);
        return new InMemoryFeatureSource([fine, coarse]);
    }

    // A metric that improves in epochs 0 and 2 only, so the best weights and the patience counter are exercised.
    private static double? Metric(UFlowModule module, int epoch) => epoch switch { 0 => 0.5, 2 => 0.7, _ => 0.6 };

    private static UFlowTorchTrainingOptions Options(int epochs, Action<UFlowEpochReport>? epochCompleted = null, bool restoreBest = true) => new()
    {
        RestoreBestWeights = restoreBest,
        LearningRate = 1e-3,
        BatchSize = 4,
        Epochs = epochs,
        Seed = 9,
        EarlyStoppingPatience = 10,
        ValidationMetric = Metric,
        EpochCompleted = epochCompleted,
    };

    private static float[] Weights(UFlowTorchTrainer t) => t.GetState().SelectMany(e => e.Value.Values).ToArray();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_run_continued_from_a_checkpoint_is_bit_identical_to_an_uninterrupted_one(bool restoreBest)
    {
        string path = Path.Combine(_dir, "run.ckpt");
        float[] uninterrupted;
        UFlowTrainingResult whole;
        using (var trainer = new UFlowTorchTrainer(Config, Options(5, restoreBest: restoreBest)))
        {
            whole = trainer.Train(Data(10));
            uninterrupted = Weights(trainer);
        }

        UFlowTorchTrainer? first = null;
        using (first = new UFlowTorchTrainer(Config, Options(5, r => { if (r.Epoch == 2) UFlowTorchCheckpoint.Save(first!, path); if (r.Epoch == 2) r.StopRequested = true; }, restoreBest)))
        {
            first.Train(Data(10));
        }
        Assert.Equal([path], Directory.GetFiles(_dir)); // atomic: no temporary file left

        using var resumed = UFlowTorchCheckpoint.Load(path, Options(5, restoreBest: restoreBest));
        Assert.Equal(3, resumed.CompletedEpochs);
        Assert.Equal(0.7, resumed.EarlyStopping.BestMetric);
        Assert.Equal(2, resumed.EarlyStopping.BestEpoch);
        UFlowTrainingResult rest = resumed.Train(Data(10));
        Assert.Equal([3, 4], rest.Epochs.Select(e => e.Epoch));
        Assert.Equal(whole.Epochs[3].Loss, rest.Epochs[0].Loss);
        Assert.Equal(whole.Epochs[4].Loss, rest.Epochs[1].Loss);
        Assert.Equal(restoreBest, resumed.BestWeightsRestored);
        Assert.Equal(uninterrupted, Weights(resumed)); // with restoreBest: epoch 2's weights, kept in the checkpoint
    }

    [Fact]
    public void Other_settings_other_data_and_restored_best_weights_are_refused()
    {
        string path = Path.Combine(_dir, "run.ckpt");
        using (var trainer = new UFlowTorchTrainer(Config, new UFlowTorchTrainingOptions { LearningRate = 1e-3, BatchSize = 4, Epochs = 2, Seed = 9 }))
        {
            trainer.Train(Data(10));
            UFlowTorchCheckpoint.Save(trainer, path);
        }
        var batch = Assert.Throws<ArgumentException>(() => UFlowTorchCheckpoint.Load(path, new UFlowTorchTrainingOptions { LearningRate = 1e-3, BatchSize = 5, Epochs = 4, Seed = 9 }));
        Assert.Contains("batch size 4, but 5", batch.Message);
        Assert.Contains(path, batch.Message);
        Assert.Contains("learning rate", Assert.Throws<ArgumentException>(() => UFlowTorchCheckpoint.Load(path, new UFlowTorchTrainingOptions { LearningRate = 2e-3, BatchSize = 4, Seed = 9 })).Message);

        using (var resumed = UFlowTorchCheckpoint.Load(path, new UFlowTorchTrainingOptions { LearningRate = 1e-3, BatchSize = 4, Epochs = 4, Seed = 9 }))
        {
            var other = Data(10, seed: 77); // same shapes, other values
            Assert.Contains("same training data", Assert.Throws<ArgumentException>(() => resumed.Train(other)).Message);
        }

        using (var best = new UFlowTorchTrainer(Config, Options(3)))
        {
            best.Train(Data(10));
            Assert.True(best.BestWeightsRestored);
            Assert.Contains("best epoch's weights", Assert.Throws<InvalidOperationException>(() => UFlowTorchCheckpoint.Save(best, Path.Combine(_dir, "best.ckpt"))).Message);
        }
    }

    [Fact]
    public void Other_features_of_the_same_shape_are_refused_naming_scale_and_sample_and_recomputed_ones_are_accepted()
    {
        string path = Path.Combine(_dir, "run.ckpt");
        UFlowTorchTrainingOptions Settings(int epochs) => new() { LearningRate = 1e-3, BatchSize = 4, Epochs = epochs, Seed = 9 };
        using (var trainer = new UFlowTorchTrainer(Config, Settings(2)))
        {
            trainer.Train(Data(10));
            UFlowTorchCheckpoint.Save(trainer, path);
        }

        // A rectified layer (layer3_act for layer3): the coarse scale is centred on 0, the fine one on 1.5, so the
        // coarse scale of the first sample is the first to differ.
        using (var resumed = UFlowTorchCheckpoint.Load(path, Settings(3)))
        {
            var relu = new TransformedFeatureSource(Data(10), (_, _, v) =>
            {
                for (int i = 0; i < v.Length; i++) v[i] = Math.Max(v[i], 0);
            });
            var e = Assert.Throws<ArgumentException>(() => resumed.Train(relu));
            Assert.Contains("not those the 2 epochs already completed used", e.Message);
            Assert.Contains("scale 2 of the first sample", e.Message);
        }
        // A change to the last sample's coarse scale only.
        using (var resumed = UFlowTorchCheckpoint.Load(path, Settings(3)))
        {
            var last = new TransformedFeatureSource(Data(10), (sample, scale, v) =>
            {
                if (sample == 9 && scale == 1) v[0] += 0.5f;
            });
            Assert.Contains("scale 2 of the last sample", Assert.Throws<ArgumentException>(() => resumed.Train(last)).Message);
            Assert.Equal(2, resumed.CompletedEpochs);
        }
        // Features recomputed elsewhere differ in their last bits: the run continues.
        using (var resumed = UFlowTorchCheckpoint.Load(path, Settings(3)))
        {
            resumed.Train(new TransformedFeatureSource(Data(10), (_, _, v) =>
            {
                for (int i = 0; i < v.Length; i++) v[i] = MathF.BitIncrement(v[i]);
            }));
            Assert.Equal(3, resumed.CompletedEpochs);
        }
    }

    [Fact]
    public void Truncated_corrupt_and_foreign_files_are_refused_naming_the_file()
    {
        string path = Path.Combine(_dir, "run.ckpt");
        using (var trainer = new UFlowTorchTrainer(Config, new UFlowTorchTrainingOptions { LearningRate = 1e-3, BatchSize = 4, Epochs = 1, Seed = 9 }))
        {
            trainer.Train(Data(6));
            UFlowTorchCheckpoint.Save(trainer, path);
        }
        byte[] bytes = File.ReadAllBytes(path);
        var options = new UFlowTorchTrainingOptions { LearningRate = 1e-3, BatchSize = 4, Epochs = 2, Seed = 9 };
        foreach (int length in new[] { 0, 7, 40, bytes.Length / 2, bytes.Length - 3 })
        {
            string cut = Path.Combine(_dir, $"cut{length}.ckpt");
            File.WriteAllBytes(cut, bytes.AsSpan(0, length).ToArray());
            var e = Assert.Throws<InvalidDataException>(() => UFlowTorchCheckpoint.Load(cut, options));
            Assert.Contains(cut, e.Message);
        }
        byte[] foreign = (byte[])bytes.Clone();
        foreign[0] = (byte)'X';
        string foreignPath = Path.Combine(_dir, "foreign.ckpt");
        File.WriteAllBytes(foreignPath, foreign);
        Assert.Contains("signature", Assert.Throws<InvalidDataException>(() => UFlowTorchCheckpoint.Load(foreignPath, options)).Message);
        byte[] newer = (byte[])bytes.Clone();
        BitConverter.TryWriteBytes(newer.AsSpan(8, 4), UFlowTorchCheckpoint.FormatVersion + 1);
        string newerPath = Path.Combine(_dir, "newer.ckpt");
        File.WriteAllBytes(newerPath, newer);
        Assert.Contains("update Microsoft.ML.UFlow", Assert.Throws<InvalidDataException>(() => UFlowTorchCheckpoint.Load(newerPath, options)).Message);
        // Version 1 held TorchSharp's own Adam state, which this library no longer reads.
        byte[] older = (byte[])bytes.Clone();
        BitConverter.TryWriteBytes(older.AsSpan(8, 4), 1);
        string olderPath = Path.Combine(_dir, "older.ckpt");
        File.WriteAllBytes(olderPath, older);
        var old = Assert.Throws<InvalidDataException>(() => UFlowTorchCheckpoint.Load(olderPath, options));
        Assert.Contains(olderPath, old.Message);
        Assert.Contains("format version 1", old.Message);
        Assert.Contains("delete it to train anew", old.Message);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
