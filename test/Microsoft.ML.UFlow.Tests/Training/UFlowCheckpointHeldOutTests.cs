using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Training;
using HostTensor = Microsoft.ML.UFlow.Tensors.Tensor;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// Checkpoint format 3 and early stopping across continuations: the held-out slice is kept, a format-2 file (no slice) is
/// read as holding out nothing, and a run continued with best-weight restoring from one made without it keeps the best
/// epoch when that was its last one and is refused otherwise.
/// </summary>
public sealed class UFlowCheckpointHeldOutTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("uflow-ckpt-heldout-").FullName;

    private static UFlowConfig Config => new([new(4, 8, 8), new(8, 4, 4)]) { Seed = 3, FeatureLayerNorm = true };

    private static InMemoryFeatureSource Data(int samples)
    {
        var random = new SeededRandom(2);
        return new InMemoryFeatureSource([TestFeatures.Gaussian(random, 0.5, samples, 4, 8, 8), TestFeatures.Gaussian(random, 2.0, samples, 8, 4, 4)]);
    }

    // Improves in epochs 0, 1 and 2, not in 3 and 4.
    private static double? Metric(UFlowModule module, int epoch) => epoch switch { 0 => 0.5, 1 => 0.6, 2 => 0.7, _ => 0.65 };

    private static UFlowTorchTrainingOptions Options(int epochs, bool restoreBest, Action<UFlowEpochReport>? epochCompleted = null) => new()
    {
        RestoreBestWeights = restoreBest, LearningRate = 1e-3, BatchSize = 4, Epochs = epochs, Seed = 9, EarlyStoppingPatience = 10,
        ValidationMetric = Metric, EpochCompleted = epochCompleted,
    };

    private static float[] Weights(UFlowTorchTrainer t) => t.GetState().SelectMany(e => e.Value.Values).ToArray();

    private string SaveAfter(int epochs, bool restoreBest, HeldOutSplit? heldOut = null)
    {
        string path = Path.Combine(_dir, $"run{epochs}.ckpt");
        UFlowTorchTrainer? t = null;
        using (t = new UFlowTorchTrainer(Config, Options(epochs, restoreBest, r => { if (r.Epoch == epochs - 1) UFlowTorchCheckpoint.Save(t!, path); })))
        {
            t.HeldOut = heldOut;
            t.Train(Data(10));
        }
        return path;
    }

    [Fact]
    public void The_held_out_slice_is_kept_and_a_format_2_file_holds_out_nothing()
    {
        HeldOutSplit split = HeldOutSplit.Choose(14, 0.25, 5, "test");
        using (var loaded = UFlowTorchCheckpoint.Load(SaveAfter(2, false, split), Options(4, false)))
        {
            Assert.True(split.SameAs(loaded.HeldOut!));
        }

        // Format 2 is format 3 without the held-out flag byte after the feature summary (two scales: byte 182).
        string path = SaveAfter(2, false);
        byte[] v3 = File.ReadAllBytes(path);
        Assert.Equal(0, v3[182]);
        byte[] v2 = [.. v3[..182], .. v3[183..]];
        BitConverter.TryWriteBytes(v2.AsSpan(8, 4), 2);
        string old = Path.Combine(_dir, "v2.ckpt");
        File.WriteAllBytes(old, v2);
        using var fromV3 = UFlowTorchCheckpoint.Load(path, Options(3, false));
        using var fromV2 = UFlowTorchCheckpoint.Load(old, Options(3, false));
        Assert.Null(fromV2.HeldOut);
        fromV3.Train(Data(10));
        fromV2.Train(Data(10));
        Assert.Equal(Weights(fromV3), Weights(fromV2));
    }

    [Fact]
    public void Best_weights_are_kept_when_a_run_made_without_them_is_continued_with_them()
    {
        float[] uninterrupted;
        using (var whole = new UFlowTorchTrainer(Config, Options(5, true)))
        {
            whole.Train(Data(10));
            uninterrupted = Weights(whole); // epoch 2's
        }
        // Saved after 2 epochs without best weights: its best epoch (1) is its last, so the current weights are the best.
        using (var continued = UFlowTorchCheckpoint.Load(SaveAfter(2, false), Options(5, true)))
        {
            continued.Train(Data(10));
            Assert.True(continued.BestWeightsRestored);
            Assert.Equal(uninterrupted, Weights(continued));
        }
        // Saved after 4 epochs without best weights: epoch 2's weights are lost.
        using var lost = UFlowTorchCheckpoint.Load(SaveAfter(4, false), Options(5, true));
        Assert.Contains("did not keep the weights of its best epoch (2", Assert.Throws<ArgumentException>(() => lost.Train(Data(10))).Message);
        // Continued without restoring, a checkpoint that kept best weights ends with the last epoch's weights.
        using var last = UFlowTorchCheckpoint.Load(SaveAfter(4, true), Options(5, false));
        last.Train(Data(10));
        Assert.False(last.BestWeightsRestored);
        Assert.NotEqual(uninterrupted, Weights(last));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
