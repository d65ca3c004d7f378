using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Flows.CsFlow;

// The managed engine's trainer, not the ML.NET estimator of the same name in Microsoft.ML.UFlow.
using CsFlowTrainer = Microsoft.ML.UFlow.Flows.CsFlow.CsFlowTrainer;

public class CsFlowModelTests
{
    internal static InMemoryFeatureSource Features(int count, int channels, ulong seed, double shift = 0)
    {
        Tensor[] t = TestFeatures.CsFlowScales(count, channels, 8, 8, seed);
        foreach (Tensor s in t)
        {
            Span<float> v = s.Span;
            for (int i = 0; i < v.Length; i++) v[i] = (float)(0.5 * v[i] + shift + 0.3 * ((i / 16) % 3));
        }
        return new InMemoryFeatureSource(t);
    }

    internal static CsFlowTrainerOptions TinyTraining(int epochs) => new()
    {
        Epochs = epochs,
        BatchSize = 4,
        LearningRate = 2e-3,
        Network = new CsFlowNetworkOptions { HiddenChannels = 8, KernelSizes = [3, 5] },
    };

    [Fact]
    public void TrainingLowersTheLossAndScoresShiftedFeaturesHigher()
    {
        InMemoryFeatureSource train = Features(8, 4, 1);
        var reports = new List<CsFlowEpochReport>();
        CsFlowTrainerOptions options = TinyTraining(5);
        options.BatchSize = 2;
        options.LearningRate = 5e-3;
        CsFlowModel model = new CsFlowTrainer(options).Fit(train, new SyncProgress(reports));
        Assert.Equal(5, reports.Count);
        Assert.True(reports[^1].MeanLoss < 0.9 * reports[0].MeanLoss, $"Loss went from {reports[0].MeanLoss} to {reports[^1].MeanLoss}.");

        Tensor[] batch = [new(1), new(1), new(1)];
        Features(4, 4, 2).ReadBatch([0, 1, 2, 3], batch);
        double[] normalScores = model.ScoreImages(batch);
        Features(4, 4, 2, shift: 3).ReadBatch([0, 1, 2, 3], batch);
        double[] shiftedScores = model.ScoreImages(batch);
        Assert.True(shiftedScores.Min() > normalScores.Max(), $"normal {string.Join(", ", normalScores)} vs shifted {string.Join(", ", shiftedScores)}");
    }

    [Fact]
    public void TrainingIsDeterministic()
    {
        InMemoryFeatureSource train = Features(6, 4, 3);
        CsFlowModel a = new CsFlowTrainer(TinyTraining(2)).Fit(train);
        CsFlowModel b = new CsFlowTrainer(TinyTraining(2)).Fit(train);
        for (int i = 0; i < a.Network.Parameters.Count; i++)
        {
            Assert.Equal(a.Network.Parameters[i].Value.Span.ToArray(), b.Network.Parameters[i].Value.Span.ToArray());
        }
    }

    [Fact]
    public void SaveAndLoadGiveBitIdenticalScores()
    {
        InMemoryFeatureSource train = Features(6, 5, 4);
        CsFlowModel model = new CsFlowTrainer(TinyTraining(2)).Fit(train);
        model.Metadata["backbone"] = "test";
        Tensor[] batch = [new(1), new(1), new(1)];
        train.ReadBatch([0, 1, 2], batch);
        (double[] scores, Tensor maps) = model.Score(batch, 16, 16);
        scores = scores.ToArray();
        maps = maps.Clone();

        string path = Path.Combine(Path.GetTempPath(), $"csflow-{Guid.NewGuid():N}.bin");
        try
        {
            model.Save(path);
            CsFlowModel loaded = CsFlowModel.Load(path);
            Assert.Equal("test", loaded.Metadata["backbone"]);
            Assert.Equal(model.Network.Options.KernelSizes, loaded.Network.Options.KernelSizes);
            for (int k = 0; k < model.Network.BlockCount; k++)
            {
                for (int s = 0; s < 3; s++) Assert.Equal(model.Network.Permute(k).Permutation(s), loaded.Network.Permute(k).Permutation(s));
            }
            (double[] scores2, Tensor maps2) = loaded.Score(batch, 16, 16);
            Assert.Equal(scores, scores2);
            Assert.Equal(maps.Span.ToArray(), maps2.Span.ToArray());
            Assert.Empty(Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(path) + ".*.tmp"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void LoadRejectsTruncatedAndNewerFiles()
    {
        var model = new CsFlowModel(new CsFlowNetwork(new CsFlowNetworkOptions { Channels = 4, HiddenChannels = 4, KernelSizes = [3] }));
        var stream = new MemoryStream();
        model.Save(stream);
        byte[] bytes = stream.ToArray();
        var truncated = Assert.Throws<InvalidDataException>(() => CsFlowModel.Load(new MemoryStream(bytes[..^20])));
        Assert.Contains("truncated", truncated.Message);

        byte[] newer = bytes.ToArray();
        int versionOffset = 1 + "UFLOW.CSFLOW".Length;
        BitConverter.GetBytes(99).CopyTo(newer, versionOffset);     // written version
        BitConverter.GetBytes(99).CopyTo(newer, versionOffset + 4); // minimum reader version
        var tooNew = Assert.Throws<InvalidDataException>(() => CsFlowModel.Load(new MemoryStream(newer)));
        Assert.Contains("version 99", tooNew.Message);

        var notModel = Assert.Throws<InvalidDataException>(() => CsFlowModel.Load(new MemoryStream(new byte[64])));
        Assert.Contains("Not a CS-Flow model", notModel.Message);
    }

    [Fact]
    public void NonFiniteFeaturesStopTrainingWithTheEpochAndKeepTheLastGoodWeights()
    {
        InMemoryFeatureSource train = Features(4, 4, 5);
        Tensor[] t = TestFeatures.CsFlowScales(4, 4, 8, 8, 6);
        t[1].Span[3] = float.NaN;
        var bad = new InMemoryFeatureSource(t);
        var trainer = new CsFlowTrainer(TinyTraining(1));
        CsFlowModel model = trainer.Fit(train);
        float[][] before = model.Network.Parameters.Select(p => p.Value.Span.ToArray()).ToArray();
        var ex = Assert.Throws<CsFlowTrainingDivergedException>(() => trainer.Continue(model, bad));
        Assert.Equal(1, ex.Epoch);
        Assert.Contains("epoch 1", ex.Message);
        Assert.Same(model, ex.LastGoodModel);
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], model.Network.Parameters[i].Value.Span.ToArray());
    }

    internal sealed class SyncProgress(List<CsFlowEpochReport> sink) : IProgress<CsFlowEpochReport>
    {
        public void Report(CsFlowEpochReport value) => sink.Add(value);
    }
}
