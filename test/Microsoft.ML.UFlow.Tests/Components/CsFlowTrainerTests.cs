using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Training;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>
/// The CS-Flow estimator on real ML.NET: fit on three-scale features (on TorchSharp), score, save, load in a fresh
/// context; seeded reproducibility, checkpoints, bad features and devices.
/// </summary>
public sealed class CsFlowTrainerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("csflow-estimator-").FullName;

    private static CsFlowTrainer.Options Quick() => new() { Epochs = 2, BatchSize = 4, HiddenChannels = 8, OutputSize = 16, Seed = 3 };

    private static IDataView Features(int rows, int seed, bool withAnomalies = false, Action<int, float[]>? edit = null)
        => FeatureRows.Load(new MLContext(seed: 0), rows, seed, FeatureRows.CsFlowScales, withAnomalies, edit);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Fits on `train` and returns the exported graph (weights and threshold) and the training summary.
    private static (byte[] Graph, UFlowTrainingSummary Summary) Fit(IDataView train, CsFlowTrainer.Options options)
    {
        using CsFlowScoreTransformer scorer = new MLContext(seed: 0).AnomalyDetection.Trainers.CsFlow(options).Fit(train);
        return (scorer.GetOnnxModel(), scorer.TrainingSummary);
    }

    [Fact]
    public void Fit_score_save_and_load_give_the_same_outputs()
    {
        IDataView train = Features(6, 1), test = Features(4, 2, withAnomalies: true);
        var log = new ProgressLog();
        var options = Quick();
        options.Progress = log;
        using CsFlowScoreTransformer model = new MLContext(seed: 0).AnomalyDetection.Trainers.CsFlow(options).Fit(train);
        Assert.Equal((2, 4, 6), (model.TrainingSummary.Epochs, model.TrainingSummary.Steps, model.TrainingSummary.TrainingImages));
        Assert.True(double.IsFinite(model.TrainingSummary.FinalLoss));
        Assert.Equal(4, model.Network.Channels);
        Assert.Equal(Enumerable.Range(1, 4), log.Training.Select(r => r.Done).Distinct());
        Assert.Null(log.Training.First().Loss); // no epoch finished yet
        Assert.Equal(model.TrainingSummary.FinalLoss, log.Training.Last().Loss);

        var scored = model.Transform(test);
        var maps = scored.GetColumn<float[]>(AnomalyColumns.AnomalyMap).ToArray();
        Assert.All(maps, m => Assert.Equal(16 * 16, m.Length));
        Assert.All(scored.GetColumn<float>(AnomalyColumns.Score), s => Assert.True(float.IsFinite(s)));
        // The training images set the threshold: none of them is flagged.
        Assert.All(model.Transform(train).GetColumn<bool>(AnomalyColumns.PredictedLabel), flagged => Assert.False(flagged));

        var loaded = ModelRoundTrip.SaveAndLoad(model, train.Schema, out string path);
        try
        {
            ModelRoundTrip.AssertSameOutputs(model, loaded, test, AnomalyColumns.Score, AnomalyColumns.PredictedLabel, AnomalyColumns.AnomalyMap);
            var facts = UFlowModelInfo.Read(path);
            Assert.Equal("csflow", facts.Method);
            Assert.Equal(16, facts.MapSize);
            Assert.Equal(model.Threshold, facts.Threshold);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_model_and_another_seed_another()
    {
        IDataView train = Features(6, 1);
        var other = Quick();
        other.Seed = 4;
        byte[] a = Fit(train, Quick()).Graph, b = Fit(train, Quick()).Graph, c = Fit(train, other).Graph;
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void A_training_continued_from_its_checkpoint_gives_the_model_of_an_uninterrupted_one()
    {
        IDataView train = Features(6, 1);
        string checkpoint = Path.Combine(_dir, "run.ckpt");
        CsFlowTrainer.Options Options(int epochs, string? path, IProgress<TrainingProgress>? progress = null)
        {
            var o = Quick();
            o.Epochs = epochs;
            o.CheckpointPath = path;
            o.Progress = progress;
            return o;
        }
        var straight = Fit(train, Options(3, null));
        var first = Fit(train, Options(2, checkpoint));
        Assert.Equal((2, 4), (first.Summary.Epochs, first.Summary.Steps));
        Assert.Equal([checkpoint], Directory.GetFiles(_dir)); // saved atomically: no temporary file left
        var log = new ProgressLog();
        var resumed = Fit(train, Options(3, checkpoint, log));
        Assert.Equal(straight.Graph, resumed.Graph);
        Assert.Equal((3, 6, straight.Summary.FinalLoss), (resumed.Summary.Epochs, resumed.Summary.Steps, resumed.Summary.FinalLoss));
        Assert.Equal([5, 6], log.Training.Select(r => r.Done).Distinct()); // 6 rows, batch 4: two steps per epoch, four of them saved

        var done = Assert.Throws<ArgumentException>(() => Fit(train, Options(3, checkpoint)));
        Assert.Contains("already holds 3 epochs", done.Message);
        Assert.Contains(checkpoint, done.Message);
        var wider = Options(4, checkpoint);
        wider.HiddenChannels = 16;
        Assert.Contains("hidden width", Assert.Throws<ArgumentException>(() => Fit(train, wider)).Message);
        Assert.Contains("same training data", Assert.Throws<ArgumentException>(() => Fit(Features(6, 5), Options(4, checkpoint))).Message);

        byte[] bytes = File.ReadAllBytes(checkpoint);
        string cut = Path.Combine(_dir, "cut.ckpt");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        Assert.Contains(cut, Assert.Throws<InvalidDataException>(() => Fit(train, Options(4, cut))).Message);
        string foreign = Path.Combine(_dir, "foreign.ckpt");
        File.WriteAllText(foreign, "not a checkpoint at all");
        var e = Assert.Throws<InvalidDataException>(() => Fit(train, Options(4, foreign)));
        Assert.Contains(foreign, e.Message);
        Assert.Contains("signature", e.Message);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.NegativeInfinity)]
    public void Features_that_are_not_finite_stop_training_naming_epoch_and_step(float bad)
    {
        // Value 300 of a row lies in the second scale (the first holds 4·8·8 = 256).
        IDataView train = Features(6, 1, edit: (row, values) => { if (row == 2) values[300] = bad; });
        var e = Assert.Throws<CsFlowDivergenceException>(() => Fit(train, Quick()));
        Assert.Equal(1, e.Epoch);
        Assert.Matches(@"epoch 1, step [01]: the features of scale 1 contain NaN or infinite values", e.Message);
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("cuda:1")]
    public void A_cuda_device_with_the_cpu_backend_fails_before_featurising_naming_the_package(string device)
    {
        if (TorchSharp.torch.cuda.is_available()) return; // a GPU machine with a CUDA backend: nothing to refuse
        var log = new ProgressLog();
        var options = Quick();
        options.Device = device;
        options.Progress = log;
        var e = Assert.Throws<InvalidOperationException>(() => Fit(Features(2, 1), options));
        Assert.Contains("TorchSharp-cuda-linux", e.Message);
        Assert.Contains($"'{device}'", e.Message);
        Assert.Empty(log.Reports);
    }

    [Fact]
    public void Options_are_validated_when_the_trainer_is_made()
    {
        var ml = new MLContext();
        Assert.Throws<ArgumentException>(() => ml.AnomalyDetection.Trainers.CsFlow(new CsFlowTrainer.Options { Device = " " }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.AnomalyDetection.Trainers.CsFlow(new CsFlowTrainer.Options { HiddenChannels = 0 }));
    }
}
