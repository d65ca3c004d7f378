using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Training;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>
/// The U-Flow estimator on real ML.NET: fit on features (on TorchSharp), score, NFA, save, load in a fresh context;
/// seeded reproducibility, checkpoints, bad features and devices.
/// </summary>
public sealed class UFlowTrainerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("uflow-estimator-").FullName;

    private static UFlowTrainer.Options Quick() => new() { Epochs = 2, BatchSize = 4, OutputSize = 32, Seed = 3, HeldOutFraction = 0 };

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Fits on `train` and returns the exported graph (weights, final loss and threshold) and the training summary.
    private static (byte[] Graph, UFlowTrainingSummary Summary) Fit(IDataView train, UFlowTrainer.Options options)
    {
        using AnomalyScoreTransformer scorer = new MLContext(seed: 0).AnomalyDetection.Trainers.UFlow(options).Fit(train);
        return (scorer.GetOnnxModel(), scorer.TrainingSummary);
    }

    [Fact]
    public void Fit_score_segment_save_and_load_give_the_same_outputs()
    {
        var ml = new MLContext(seed: 0);
        IDataView train = FeatureRows.Load(ml, rows: 8, seed: 1);
        IDataView test = FeatureRows.Load(ml, rows: 4, seed: 2, withAnomalies: true);
        var model = ml.AnomalyDetection.Trainers.UFlow(Quick()).Append(ml.Transforms.SegmentWithNfa(new NfaSegmentationOptions { OutputSize = 32 })).Fit(train);

        var scored = model.Transform(test);
        float[] scores = scored.GetColumn<float>(AnomalyColumns.Score).ToArray();
        Assert.All(scores, s => Assert.InRange(s, 0f, 1f)); // the map is 1 − mean likelihood: in [0, 1]
        var maps = scored.GetColumn<float[]>(AnomalyColumns.AnomalyMap).ToArray();
        Assert.All(maps, m => Assert.Equal(32 * 32, m.Length));
        Assert.Equal(scores, maps.Select(m => m.Max()).ToArray()); // the image score is the map's maximum (A.6)
        Assert.All(scored.GetColumn<bool[]>(AnomalyColumns.SegmentationMask), m => Assert.Equal(32 * 32, m.Length));
        var logNfa = scored.GetColumn<float[]>(AnomalyColumns.LogNfa).ToArray();
        var masks = scored.GetColumn<bool[]>(AnomalyColumns.SegmentationMask).ToArray();
        for (int r = 0; r < masks.Length; r++)
            for (int i = 0; i < masks[r].Length; i++) Assert.Equal(logNfa[r][i] > 0, masks[r][i]); // ε = 1: mask = log NFA < 0

        // The training images set the threshold: none of them is flagged.
        Assert.All(model.Transform(train).GetColumn<bool>(AnomalyColumns.PredictedLabel), flagged => Assert.False(flagged));

        var loaded = ModelRoundTrip.SaveAndLoad(model, train.Schema, out string path);
        try
        {
            ModelRoundTrip.AssertSameOutputs(model, loaded, test, AnomalyColumns.Score, AnomalyColumns.PredictedLabel,
                AnomalyColumns.AnomalyMap, AnomalyColumns.LogNfa, AnomalyColumns.SegmentationMask);
            var facts = UFlowModelInfo.Read(path);
            Assert.Equal("uflow", facts.Method);
            Assert.Equal(32, facts.MapSize);
            Assert.Equal(2, facts.Scales.Count);
            Assert.Equal(UFlowModelInfo.Read(loaded).Threshold, facts.Threshold);
            Assert.Equal(((IEnumerable<ITransformer>)model).OfType<AnomalyScoreTransformer>().Single().Threshold, facts.Threshold);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_exported_graph_carries_the_threshold_and_the_scales()
    {
        // The scorer's graph is the trained flow's ONNX export (its parity with the forward pass: Onnx/*ParityTests).
        var ml = new MLContext(seed: 0);
        IDataView train = FeatureRows.Load(ml, rows: 6, seed: 4);
        var scorer = ml.AnomalyDetection.Trainers.UFlow(Quick()).Fit(train);
        byte[] graph = scorer.GetOnnxModel();
        var facts = Microsoft.ML.UFlow.Onnx.FlowModelFacts.Read(graph);
        Assert.Equal(scorer.Threshold, facts.Threshold);
        Assert.Equal(new[] { new FlowScale(8, 8, 8), new FlowScale(16, 4, 4) }, facts.Scales);
    }

    [Fact]
    public void The_same_seed_gives_the_same_model_and_another_seed_another()
    {
        IDataView train = FeatureRows.Load(new MLContext(seed: 0), rows: 6, seed: 4);
        var other = Quick();
        other.Seed = 4;
        byte[] a = Fit(train, Quick()).Graph, b = Fit(train, Quick()).Graph, c = Fit(train, other).Graph;
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void A_training_continued_from_its_checkpoint_gives_the_model_of_an_uninterrupted_one()
    {
        IDataView train = FeatureRows.Load(new MLContext(seed: 0), rows: 6, seed: 4);
        string checkpoint = Path.Combine(_dir, "run.ckpt");
        UFlowTrainer.Options Options(int epochs, string? path, IProgress<TrainingProgress>? progress = null)
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
        Assert.Equal([5, 6], log.Training.Select(r => r.Done)); // 6 rows, batch 4: two steps per epoch, four of them saved
        Assert.All(log.Training, r => Assert.Equal(6, r.Total));

        var done = Assert.Throws<ArgumentException>(() => Fit(train, Options(3, checkpoint)));
        Assert.Contains("already holds 3 epochs", done.Message);
        Assert.Contains(checkpoint, done.Message);
        var deeper = Options(4, checkpoint);
        deeper.FlowSteps = 2;
        Assert.Contains("holds the flow", Assert.Throws<ArgumentException>(() => Fit(train, deeper)).Message);
        var faster = Options(4, checkpoint);
        faster.LearningRate = 2e-3;
        Assert.Contains("learning rate", Assert.Throws<ArgumentException>(() => Fit(train, faster)).Message);
        Assert.Contains("same training data", Assert.Throws<ArgumentException>(() => Fit(FeatureRows.Load(new MLContext(seed: 0), rows: 6, seed: 5), Options(4, checkpoint))).Message);

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
    [InlineData(float.PositiveInfinity)]
    public void Features_that_are_not_finite_stop_training_naming_epoch_step_scale_and_sample(float bad)
    {
        // Value 600 of a row lies in the second scale (the first holds 8·8·8 = 512).
        IDataView train = FeatureRows.Load(new MLContext(seed: 0), rows: 6, seed: 4, FeatureRows.UFlowScales, edit: (row, values) => { if (row == 5) values[600] = bad; });
        var e = Assert.Throws<InvalidDataException>(() => Fit(train, Quick()));
        Assert.Matches(@"epoch 0, step [01]: the features of sample 5 at scale 1 contain NaN or infinite values", e.Message);
    }

    [Fact]
    public void A_diverging_loss_stops_training_naming_epoch_and_step()
    {
        // Finite but huge features without the LayerNorm: z² overflows float32.
        IDataView train = FeatureRows.Load(new MLContext(seed: 0), rows: 6, seed: 4, FeatureRows.UFlowScales, edit: (row, values) => { if (row == 2) Array.Fill(values, 1e30f); });
        var options = Quick();
        options.FeatureLayerNorm = false;
        var e = Assert.Throws<FlowTrainingDivergedException>(() => Fit(train, options));
        Assert.Equal(0, e.Epoch);
        Assert.Contains($"epoch 0 (batch {e.Batch})", e.Message);
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
        var e = Assert.Throws<InvalidOperationException>(() => Fit(FeatureRows.Load(new MLContext(seed: 0), rows: 2, seed: 1), options));
        Assert.Contains("TorchSharp-cuda-linux", e.Message);
        Assert.Contains($"'{device}'", e.Message);
        Assert.Empty(log.Reports);
        options.Device = "gpu";
        Assert.Contains("'gpu'", Assert.Throws<ArgumentException>(() => Fit(FeatureRows.Load(new MLContext(seed: 0), rows: 2, seed: 1), options)).Message);
    }

    [Fact]
    public void A_missing_features_column_is_named()
    {
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable(new[] { new { Other = 1f } });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.AnomalyDetection.Trainers.UFlow(Quick()).Fit(data));
        Assert.Contains("'Features'", e.Message);
    }

    [Fact]
    public void Training_data_without_rows_is_refused()
    {
        var ml = new MLContext();
        var empty = ml.Data.FilterRowsByColumn(FeatureRows.Load(ml, 2, 1), "Label", lowerBound: 5, upperBound: 6);
        var e = Assert.Throws<ArgumentException>(() => ml.AnomalyDetection.Trainers.UFlow(Quick()).Fit(empty));
        Assert.Contains("no rows", e.Message);
    }

    [Fact]
    public void Options_are_validated_when_the_trainer_is_made()
    {
        var ml = new MLContext();
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { LearningRate = double.NaN }));
    }
}
