using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Flows.CsFlow;

// The managed engine's trainer, not the ML.NET estimator of the same name in Microsoft.ML.UFlow.
using CsFlowTrainer = Microsoft.ML.UFlow.Flows.CsFlow.CsFlowTrainer;

/// <summary>
/// CS-Flow training checkpoints: a training saved after epoch 2 and continued to epoch 4 is bit-identical to the one
/// that ran through; other settings, other data and damaged files are refused with messages that say why.
/// </summary>
public sealed class CsFlowTrainingCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("uflow-csflow-checkpoint-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // 7 samples in batches of 4: a partial last batch every epoch.
    private static InMemoryFeatureSource Data(int count = 7) => CsFlowModelTests.Features(count, 4, 5);

    private static float[] Weights(CsFlowModel model) => model.Network.Parameters.SelectMany(p => p.Value.Span.ToArray()).ToArray();

    private string SavedAfterTwoEpochs()
    {
        var trainer = new CsFlowTrainer(CsFlowModelTests.TinyTraining(2));
        CsFlowTrainingState state = trainer.Start(NewModel(trainer));
        trainer.Train(state, Data());
        string path = Path.Combine(_dir, "run.ckpt");
        CsFlowTrainingCheckpoint.Save(trainer, state, path);
        return path;
    }

    // The model Fit builds: the trainer's network options with the features' channel count.
    private static CsFlowModel NewModel(CsFlowTrainer trainer)
    {
        CsFlowNetworkOptions network = trainer.Options.Network.Clone();
        network.Channels = 4;
        return new CsFlowModel(new CsFlowNetwork(network));
    }

    [Fact]
    public void ContinuedTrainingIsBitIdenticalToTheUninterruptedOne()
    {
        var all = new List<CsFlowEpochReport>();
        CsFlowModel straight = new CsFlowTrainer(CsFlowModelTests.TinyTraining(4)).Fit(Data(), new CsFlowModelTests.SyncProgress(all));

        string path = SavedAfterTwoEpochs();
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        var trainer = new CsFlowTrainer(CsFlowModelTests.TinyTraining(4));
        CsFlowTrainingState state = CsFlowTrainingCheckpoint.Load(path, trainer);
        Assert.Equal(2, state.CompletedEpochs);
        Assert.Equal(7, state.SampleCount);
        var rest = new List<CsFlowEpochReport>();
        trainer.Train(state, Data(), new CsFlowModelTests.SyncProgress(rest));

        Assert.Equal([3, 4], rest.Select(r => r.Epoch));
        Assert.Equal(all.Skip(2).Select(r => r.MeanLoss), rest.Select(r => r.MeanLoss)); // exact
        Assert.Equal(Weights(straight), Weights(state.Model));
        Assert.Equal(4, state.CompletedEpochs);
        Assert.Equal(8, state.Optimizer.StepCount); // 2 batches × 4 epochs
    }

    [Fact]
    public void OtherSettingsOrOtherDataAreRefused()
    {
        string path = SavedAfterTwoEpochs();
        CsFlowTrainerOptions otherLr = CsFlowModelTests.TinyTraining(4);
        otherLr.LearningRate = 1e-3;
        Assert.Contains("learning rate", Assert.Throws<ArgumentException>(() => CsFlowTrainingCheckpoint.Load(path, new CsFlowTrainer(otherLr))).Message);
        CsFlowTrainerOptions otherWidth = CsFlowModelTests.TinyTraining(4);
        otherWidth.Network.HiddenChannels = 16;
        Assert.Contains("hidden width 8", Assert.Throws<ArgumentException>(() => CsFlowTrainingCheckpoint.Load(path, new CsFlowTrainer(otherWidth))).Message);

        var trainer = new CsFlowTrainer(CsFlowModelTests.TinyTraining(4));
        CsFlowTrainingState state = CsFlowTrainingCheckpoint.Load(path, trainer);
        var e = Assert.Throws<ArgumentException>(() => trainer.Train(state, Data(6)));
        Assert.Contains("6 samples", e.Message);
        Assert.Contains("used 7", e.Message);
    }

    [Fact]
    public void OtherFeaturesOfTheSameShapeAreRefusedAndRecomputedOnesAccepted()
    {
        string path = SavedAfterTwoEpochs();
        var trainer = new CsFlowTrainer(CsFlowModelTests.TinyTraining(3));
        var e = Assert.Throws<ArgumentException>(() => trainer.Train(CsFlowTrainingCheckpoint.Load(path, trainer), CsFlowModelTests.Features(7, 4, 6)));
        Assert.Contains("not those the 2 epochs already completed used", e.Message);
        e = Assert.Throws<ArgumentException>(() => trainer.Train(CsFlowTrainingCheckpoint.Load(path, trainer), new TransformedFeatureSource(Data(), (sample, scale, v) =>
        {
            if (sample == 6 && scale == 2) v.Reverse(); // same values, other order: the mean and RMS cannot tell
            if (sample == 6 && scale == 1) v[3] *= 1.5f;
        })));
        Assert.Contains("scale 2 of the last sample", e.Message);

        CsFlowTrainingState state = CsFlowTrainingCheckpoint.Load(path, trainer);
        trainer.Train(state, new TransformedFeatureSource(Data(), (_, _, v) =>
        {
            for (int i = 0; i < v.Length; i++) v[i] = MathF.BitDecrement(v[i]);
        }));
        Assert.Equal(3, state.CompletedEpochs);
    }

    [Fact]
    public void Version1CheckpointsContinueAsBefore()
    {
        string path = SavedAfterTwoEpochs();
        string old = Path.Combine(_dir, "version1.ckpt");
        File.WriteAllBytes(old, CheckpointBytes.ToVersion1(File.ReadAllBytes(path), summaryOffset: 80));

        var trainer = new CsFlowTrainer(CsFlowModelTests.TinyTraining(3));
        CsFlowTrainingState current = CsFlowTrainingCheckpoint.Load(path, trainer);
        CsFlowTrainingState version1 = CsFlowTrainingCheckpoint.Load(old, trainer);
        Assert.Equal(2, version1.CompletedEpochs);
        trainer.Train(current, Data());
        trainer.Train(version1, Data());
        Assert.Equal(Weights(current.Model), Weights(version1.Model));
        Assert.Equal(current.Optimizer.StepCount, version1.Optimizer.StepCount);
    }

    [Fact]
    public void DamagedOrNewerCheckpointsAreRefusedNamingTheFile()
    {
        byte[] good = File.ReadAllBytes(SavedAfterTwoEpochs());
        var trainer = new CsFlowTrainer(CsFlowModelTests.TinyTraining(4));
        string damaged = Path.Combine(_dir, "damaged.ckpt");
        foreach (int length in new[] { 0, 7, 20, 70, 90, good.Length / 2, good.Length - 9, good.Length - 1 })
        {
            File.WriteAllBytes(damaged, good[..length]);
            Assert.Contains(damaged, Assert.Throws<InvalidDataException>(() => CsFlowTrainingCheckpoint.Load(damaged, trainer)).Message);
        }
        byte[] newer = (byte[])good.Clone();
        BitConverter.GetBytes(CsFlowTrainingCheckpoint.FormatVersion + 1).CopyTo(newer, 8);
        File.WriteAllBytes(damaged, newer);
        Assert.Contains("newer", Assert.Throws<InvalidDataException>(() => CsFlowTrainingCheckpoint.Load(damaged, trainer)).Message);
    }
}
