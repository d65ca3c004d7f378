using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Flows;

// The managed engine's trainer, not the ML.NET estimator of the same name in Microsoft.ML.UFlow.
using UFlowTrainer = Microsoft.ML.UFlow.Flows.UFlowTrainer;

/// <summary>
/// Training checkpoints: a run stopped after an epoch and continued from its checkpoint is bit-identical to the run that
/// went through (losses, weights, optimiser steps, early stopping, best weights); wrong settings, other data and damaged
/// files are refused with messages that say why.
/// </summary>
public sealed class UFlowTrainingCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("uflow-checkpoint-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // 13 samples in batches of 5 (a partial last batch), a learning rate that changes every epoch, and a validation
    // metric that peaks at epoch 1, so that patience 3 stops the run after epoch 4.
    private static UFlowTrainingOptions Options(bool restoreBest, Action<UFlowEpochReport>? epochCompleted = null) => new()
    {
        LearningRate = 1e-3,
        LearningRateTotalIters = 10,
        BatchSize = 5,
        Epochs = 8,
        Seed = 3,
        EarlyStoppingPatience = 3,
        RestoreBestWeights = restoreBest,
        ValidationMetric = (_, epoch) => epoch == 1 ? 1.0 : -epoch,
        EpochCompleted = epochCompleted,
    };

    private static float[] Weights(UFlowTrainer trainer) => trainer.Flow.Parameters.SelectMany(p => p.Value.Span.ToArray()).ToArray();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ContinuedRunIsBitIdenticalToTheUninterruptedRun(bool restoreBest)
    {
        var straight = new UFlowTrainer(new UShapedFlow(UFlowTrainerTests.Config), Options(restoreBest));
        UFlowTrainingResult all = straight.Train(UFlowTrainerTests.Data(13));
        Assert.Equal(5, all.Epochs.Count);
        Assert.True(all.StoppedEarly);

        string path = Path.Combine(_dir, "run.ckpt");
        UFlowTrainer? first = null;
        first = new UFlowTrainer(new UShapedFlow(UFlowTrainerTests.Config), Options(restoreBest, report =>
        {
            if (report.Epoch != 2) return;
            UFlowTrainingCheckpoint.Save(first!, path);
            report.StopRequested = true;
        }));
        first.Train(UFlowTrainerTests.Data(13));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));

        UFlowTrainer resumed = UFlowTrainingCheckpoint.Load(path, Options(restoreBest));
        Assert.Equal(3, resumed.CompletedEpochs);
        Assert.Equal(new UFlowEarlyStoppingState(1.0, 1, 1), resumed.EarlyStopping);
        UFlowTrainingResult rest = resumed.Train(UFlowTrainerTests.Data(13));

        Assert.Equal([3, 4], rest.Epochs.Select(e => e.Epoch));
        Assert.True(rest.StoppedEarly);
        Assert.Equal(1, rest.BestEpoch);
        for (int i = 0; i < rest.Epochs.Count; i++)
        {
            Assert.Equal(all.Epochs[3 + i].Loss, rest.Epochs[i].Loss); // exact: same shuffle, same Adam state, same arithmetic
            Assert.Equal(all.Epochs[3 + i].LearningRate, rest.Epochs[i].LearningRate);
        }
        Assert.Equal(straight.Optimizer.StepCount, resumed.Optimizer.StepCount);
        Assert.Equal(Weights(straight), Weights(resumed)); // the last epoch's weights, or the best epoch's when restored
        if (restoreBest)
        {
            var e = Assert.Throws<InvalidOperationException>(() => UFlowTrainingCheckpoint.Save(resumed, path));
            Assert.Contains("best epoch's weights", e.Message);
        }
    }

    [Fact]
    public void OtherSettingsOrOtherDataAreRefused()
    {
        string path = SavedAfterTwoEpochs();

        UFlowTrainingOptions otherBatch = Options(restoreBest: false);
        otherBatch.BatchSize = 4;
        var e = Assert.Throws<ArgumentException>(() => UFlowTrainingCheckpoint.Load(path, otherBatch));
        Assert.Contains("batch size 5", e.Message);
        UFlowTrainingOptions otherLr = Options(restoreBest: false);
        otherLr.LearningRate = 2e-3;
        Assert.Contains("learning rate", Assert.Throws<ArgumentException>(() => UFlowTrainingCheckpoint.Load(path, otherLr)).Message);

        UFlowTrainer resumed = UFlowTrainingCheckpoint.Load(path, Options(restoreBest: false));
        e = Assert.Throws<ArgumentException>(() => resumed.Train(UFlowTrainerTests.Data(12)));
        Assert.Contains("12 samples", e.Message);
        Assert.Contains("used 13", e.Message);
    }

    [Fact]
    public void OtherFeaturesOfTheSameShapeAreRefusedAndRecomputedOnesAccepted()
    {
        string path = SavedAfterTwoEpochs();
        UFlowTrainer Resumed() => UFlowTrainingCheckpoint.Load(path, Options(restoreBest: false));

        // Other images, a rectified layer (layer3_act for layer3), and a change to the last sample's coarse scale only.
        var e = Assert.Throws<ArgumentException>(() => Resumed().Train(UFlowTrainerTests.Data(13, seed: 5)));
        Assert.Contains("not those the 2 epochs already completed used", e.Message);
        e = Assert.Throws<ArgumentException>(() => Resumed().Train(new TransformedFeatureSource(UFlowTrainerTests.Data(13), (_, _, v) =>
        {
            for (int i = 0; i < v.Length; i++) v[i] = Math.Max(v[i], 0);
        })));
        Assert.Contains("scale 2 of the first sample", e.Message); // the coarse scale is centred on 0, the fine one on 1.5
        e = Assert.Throws<ArgumentException>(() => Resumed().Train(new TransformedFeatureSource(UFlowTrainerTests.Data(13), (sample, scale, v) =>
        {
            if (sample == 12 && scale == 1) v[0] += 0.5f;
        })));
        Assert.Contains("scale 2 of the last sample", e.Message);

        // Features recomputed elsewhere differ in their last bits: the run continues.
        UFlowTrainer resumed = Resumed();
        resumed.Train(new TransformedFeatureSource(UFlowTrainerTests.Data(13), (_, _, v) =>
        {
            for (int i = 0; i < v.Length; i++) v[i] = MathF.BitIncrement(v[i]);
        }));
        Assert.True(resumed.CompletedEpochs > 2);
    }

    [Fact]
    public void Version1CheckpointsContinueAsBefore()
    {
        string path = SavedAfterTwoEpochs();
        string old = Path.Combine(_dir, "version1.ckpt");
        File.WriteAllBytes(old, CheckpointBytes.ToVersion1(File.ReadAllBytes(path), summaryOffset: 60));

        UFlowTrainer current = UFlowTrainingCheckpoint.Load(path, Options(restoreBest: false));
        UFlowTrainer version1 = UFlowTrainingCheckpoint.Load(old, Options(restoreBest: false));
        Assert.Equal(2, version1.CompletedEpochs);
        current.Train(UFlowTrainerTests.Data(13));
        version1.Train(UFlowTrainerTests.Data(13));
        Assert.Equal(Weights(current), Weights(version1));
        Assert.Equal(current.Optimizer.StepCount, version1.Optimizer.StepCount);
    }

    private string SavedAfterTwoEpochs()
    {
        var trainer = new UFlowTrainer(new UShapedFlow(UFlowTrainerTests.Config), Options(restoreBest: false));
        trainer.Options.Epochs = 2;
        trainer.Train(UFlowTrainerTests.Data(13));
        string path = Path.Combine(_dir, "two-epochs.ckpt");
        UFlowTrainingCheckpoint.Save(trainer, path);
        return path;
    }

    [Fact]
    public void DamagedOrNewerCheckpointsAreRefusedNamingTheFile()
    {
        var trainer = new UFlowTrainer(new UShapedFlow(UFlowTrainerTests.Config), Options(restoreBest: true));
        trainer.Options.Epochs = 2;
        trainer.Options.EpochCompleted = report => { if (report.Epoch == 1) UFlowTrainingCheckpoint.Save(trainer, Path.Combine(_dir, "good.ckpt")); };
        trainer.Train(UFlowTrainerTests.Data(13));
        byte[] good = File.ReadAllBytes(Path.Combine(_dir, "good.ckpt"));

        string damaged = Path.Combine(_dir, "damaged.ckpt");
        foreach (int length in new[] { 0, 5, 12, 40, 80, good.Length / 2, good.Length - 9, good.Length - 1 })
        {
            File.WriteAllBytes(damaged, good[..length]);
            var e = Assert.Throws<InvalidDataException>(() => UFlowTrainingCheckpoint.Load(damaged, Options(restoreBest: true)));
            Assert.Contains(damaged, e.Message);
        }

        byte[] flow = (byte[])good.Clone();
        flow[0] = (byte)'X';
        File.WriteAllBytes(damaged, flow);
        Assert.Contains("signature", Assert.Throws<InvalidDataException>(() => UFlowTrainingCheckpoint.Load(damaged, Options(restoreBest: true))).Message);

        byte[] summary = (byte[])good.Clone();
        BitConverter.GetBytes(double.NaN).CopyTo(summary, 60 + 1 + 4); // the first feature statistic
        File.WriteAllBytes(damaged, summary);
        Assert.Contains("feature statistic 0 is NaN", Assert.Throws<InvalidDataException>(() => UFlowTrainingCheckpoint.Load(damaged, Options(restoreBest: true))).Message);

        byte[] newer = (byte[])good.Clone();
        BitConverter.GetBytes(UFlowTrainingCheckpoint.FormatVersion + 1).CopyTo(newer, 8);
        File.WriteAllBytes(damaged, newer);
        Assert.Contains("newer", Assert.Throws<InvalidDataException>(() => UFlowTrainingCheckpoint.Load(damaged, Options(restoreBest: true))).Message);
    }
}
