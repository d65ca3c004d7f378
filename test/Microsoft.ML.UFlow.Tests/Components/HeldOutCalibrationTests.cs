using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Training;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>
/// U-Flow with held-out normal images: they are never trained on, the flow is evaluated on them every epoch and once
/// exported (summary, progress, metadata), training can stop on their loss keeping the best epoch, and their mean z² per
/// scale calibrates the latents the NFA reads (saved in the model; the anomaly map and score do not change).
/// </summary>
public sealed class HeldOutCalibrationTests : IDisposable
{
    private const int Rows = 12, Seed = 3;
    private readonly string _dir = Directory.CreateTempSubdirectory("uflow-heldout-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // 12 rows, a quarter held out: 4 held out (rows chosen from the seed), 8 trained on.
    private static UFlowTrainer.Options Options(LatentCalibration calibration = LatentCalibration.None, IProgress<TrainingProgress>? progress = null) => new()
    {
        Epochs = 2, BatchSize = 4, OutputSize = 32, Seed = Seed, HeldOutFraction = 0.25, LatentCalibration = calibration, Progress = progress,
    };

    private static int[] HeldOutRows => HeldOutSplit.Choose(Rows, 0.25, Seed, "test").HeldOut;

    private static double[] MeanSquarePerScale(float[][] latents, float[] shapes)
    {
        int scales = shapes.Length / 3;
        var sums = new double[scales];
        var counts = new long[scales];
        foreach (float[] row in latents)
        {
            int offset = 0;
            for (int l = 0; l < scales; l++)
            {
                int size = (int)(shapes[3 * l] * shapes[3 * l + 1] * shapes[3 * l + 2]);
                for (int i = 0; i < size; i++) sums[l] += (double)row[offset + i] * row[offset + i];
                counts[l] += size;
                offset += size;
            }
        }
        return sums.Select((s, l) => s / counts[l]).ToArray();
    }

    [Fact]
    public void Held_out_rows_are_never_trained_on_and_are_evaluated_every_epoch()
    {
        var ml = new MLContext(seed: 0);
        IDataView all = FeatureRows.Load(ml, rows: Rows, seed: 1);
        var log = new ProgressLog();
        using AnomalyScoreTransformer model = ml.AnomalyDetection.Trainers.UFlow(Options(progress: log)).Fit(all);
        UFlowTrainingSummary summary = model.TrainingSummary;
        Assert.Equal((2, 4, 8), (summary.Epochs, summary.Steps, summary.TrainingImages)); // 8 rows, batch 4: two steps per epoch
        HeldOutEvaluation heldOut = Assert.IsType<HeldOutEvaluation>(summary.HeldOut);
        Assert.Equal(4, heldOut.Images);
        Assert.Equal(1, summary.ExportedEpoch);
        Assert.False(summary.StoppedEarly);

        // One "epoch" report per epoch, each with that epoch's held-out evaluation; the last is the exported flow's.
        var epochs = log.Reports.Where(r => r.Phase == "epoch").ToList();
        Assert.Equal([1, 2], epochs.Select(r => r.Done));
        Assert.All(epochs, r => Assert.Equal(4, r.HeldOut!.Images));
        Assert.NotEqual(epochs[0].HeldOut!.Loss, epochs[1].HeldOut!.Loss);
        Assert.Equal(heldOut.Loss, epochs[1].HeldOut!.Loss);
        Assert.Equal(heldOut.MeanSquarePerScale, epochs[1].HeldOut!.MeanSquarePerScale);

        // The mean z² equals a recomputation from the saved graph's latents of the held-out rows.
        var scored = model.Transform(all);
        float[][] latents = scored.GetColumn<float[]>(AnomalyColumns.Latents).ToArray();
        float[] shapes = scored.GetColumn<float[]>(AnomalyColumns.Latents + AnomalyColumns.ShapesSuffix).First();
        double[] expected = MeanSquarePerScale(HeldOutRows.Select(i => latents[i]).ToArray(), shapes);
        for (int l = 0; l < expected.Length; l++) Assert.True(Math.Abs(heldOut.MeanSquarePerScale[l] - expected[l]) <= 1e-4 * expected[l], $"scale {l}: {heldOut.MeanSquarePerScale[l]} vs {expected[l]}");

        // Trained on exactly the other rows: the flow equals one trained without a held-out slice on those 8 rows alone.
        var others = Enumerable.Range(0, Rows).Except(HeldOutRows).ToArray();
        var alone = Options();
        alone.HeldOutFraction = 0;
        using AnomalyScoreTransformer reference = ml.AnomalyDetection.Trainers.UFlow(alone).Fit(FeatureRows.Load(ml, rows: Rows, seed: 1, FeatureRows.UFlowScales, only: others));
        Assert.Null(reference.TrainingSummary.HeldOut);
        Assert.Equal(latents, reference.Transform(all).GetColumn<float[]>(AnomalyColumns.Latents).ToArray());

        // The metadata carries the held-out facts; uncalibrated.
        FlowModelFacts facts = UFlowModelInfo.Read(model);
        Assert.Equal(heldOut.Images, facts.HeldOut!.Images);
        Assert.Equal(heldOut.Loss, facts.HeldOut.Loss);
        Assert.Equal(heldOut.MeanSquarePerScale, facts.HeldOut.MeanSquarePerScale);
        Assert.Equal(LatentCalibration.None, facts.Calibration);
        Assert.Null(facts.CalibrationDivisors);
        // A model trained on all rows (as every model before held-out images existed) has neither.
        FlowModelFacts plain = UFlowModelInfo.Read(reference);
        Assert.Null(plain.HeldOut);
        Assert.Equal(LatentCalibration.None, plain.Calibration);
        Assert.DoesNotContain(plain.Properties.Keys, k => k.StartsWith("uflow.held_out", StringComparison.Ordinal) || k.StartsWith("uflow.calibration", StringComparison.Ordinal));
    }

    [Fact]
    public void The_calibration_scales_only_the_nfa_and_survives_save_and_load()
    {
        var ml = new MLContext(seed: 0);
        IDataView all = FeatureRows.Load(ml, rows: Rows, seed: 1);
        IDataView test = FeatureRows.Load(ml, rows: 4, seed: 2, withAnomalies: true);
        var nfa = new NfaSegmentationOptions { OutputSize = 32 };
        var plain = ml.AnomalyDetection.Trainers.UFlow(Options()).Append(ml.Transforms.SegmentWithNfa(nfa)).Fit(all);
        var calibrated = ml.AnomalyDetection.Trainers.UFlow(Options(LatentCalibration.HeldOutScale)).Append(ml.Transforms.SegmentWithNfa(nfa)).Fit(all);
        UFlowTrainingSummary summary = ((IEnumerable<ITransformer>)calibrated).OfType<AnomalyScoreTransformer>().Single().TrainingSummary;
        Assert.Equal(LatentCalibration.HeldOutScale, summary.Calibration);
        IReadOnlyList<double> s = summary.HeldOut!.MeanSquarePerScale;
        Assert.All(s, v => Assert.NotEqual(1.0, v, 2)); // the factors do something

        var a = plain.Transform(test);
        var b = calibrated.Transform(test);
        // The anomaly map and the score are paper-exact either way.
        Assert.Equal(a.GetColumn<float[]>(AnomalyColumns.AnomalyMap).ToArray(), b.GetColumn<float[]>(AnomalyColumns.AnomalyMap).ToArray());
        Assert.Equal(a.GetColumn<float>(AnomalyColumns.Score).ToArray(), b.GetColumn<float>(AnomalyColumns.Score).ToArray());

        // The calibrated NFA is the NFA of the raw latents multiplied by 1/√s_l.
        float[][] raw = a.GetColumn<float[]>(AnomalyColumns.Latents).ToArray();
        float[] shapes = a.GetColumn<float[]>(AnomalyColumns.Latents + AnomalyColumns.ShapesSuffix).First();
        float[][] plainNfa = a.GetColumn<float[]>(AnomalyColumns.LogNfa).ToArray();
        float[][] calibratedNfa = b.GetColumn<float[]>(AnomalyColumns.LogNfa).ToArray();
        float[] factors = s.Select(v => (float)(1.0 / Math.Sqrt(v))).ToArray();
        var segmenter = new NfaSegmenter(nfa);
        for (int r = 0; r < raw.Length; r++)
        {
            var scales = new NfaLatentScale[shapes.Length / 3];
            int offset = 0;
            for (int l = 0; l < scales.Length; l++)
            {
                int c = (int)shapes[3 * l], h = (int)shapes[3 * l + 1], w = (int)shapes[3 * l + 2];
                float[] z = raw[r].AsSpan(offset, c * h * w).ToArray();
                for (int i = 0; i < z.Length; i++) z[i] *= factors[l];
                scales[l] = new NfaLatentScale(z, c, h, w);
                offset += c * h * w;
            }
            var expected = new float[32 * 32];
            segmenter.Segment(scales, expected, new bool[32 * 32]);
            Assert.Equal(expected, calibratedNfa[r]);
        }
        Assert.NotEqual(plainNfa, calibratedNfa);

        // Saved and loaded: the same outputs, and the calibration in the metadata.
        var loaded = ModelRoundTrip.SaveAndLoad(calibrated, all.Schema, out string path);
        try
        {
            ModelRoundTrip.AssertSameOutputs(calibrated, loaded, test, AnomalyColumns.LogNfa, AnomalyColumns.SegmentationMask, AnomalyColumns.AnomalyMap, AnomalyColumns.Score);
            FlowModelFacts facts = UFlowModelInfo.Read(loaded);
            Assert.Equal(LatentCalibration.HeldOutScale, facts.Calibration);
            Assert.Equal(s, facts.CalibrationDivisors);
            Assert.Equal(s, facts.HeldOut!.MeanSquarePerScale);
            Assert.Equal(4, facts.HeldOut.Images);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Early_stopping_keeps_the_epoch_of_the_lowest_held_out_loss()
    {
        // A learning rate far too high for 8 rows: the held-out loss soon stops improving.
        var ml = new MLContext(seed: 0);
        IDataView all = FeatureRows.Load(ml, rows: Rows, seed: 1);
        UFlowTrainer.Options Stopping(int epochs, int patience, ProgressLog? log = null)
        {
            var o = Options(progress: log);
            o.Epochs = epochs;
            o.LearningRate = 3e-2;
            o.EarlyStoppingPatience = patience;
            return o;
        }
        var log = new ProgressLog();
        using AnomalyScoreTransformer stopped = ml.AnomalyDetection.Trainers.UFlow(Stopping(40, 2, log)).Fit(all);
        UFlowTrainingSummary summary = stopped.TrainingSummary;
        double[] losses = log.Reports.Where(r => r.Phase == "epoch").Select(r => r.HeldOut!.Loss).ToArray();
        int best = Array.IndexOf(losses, losses.Min());
        Assert.True(summary.StoppedEarly, $"held-out losses {string.Join(", ", losses)}");
        Assert.True(best < losses.Length - 1);
        Assert.Equal(best + 1 + 2, losses.Length); // stopped after two epochs without improvement
        Assert.Equal(best, summary.ExportedEpoch);
        Assert.Equal(losses.Length, summary.Epochs);
        Assert.Equal(losses[best], summary.HeldOut!.Loss, 9);
        Assert.NotEqual(losses[^1], summary.HeldOut.Loss);

        // The exported flow is the one a run of best + 1 epochs (without early stopping) ends with.
        using AnomalyScoreTransformer shorter = ml.AnomalyDetection.Trainers.UFlow(Stopping(best + 1, 0)).Fit(all);
        Assert.Equal(shorter.Transform(all).GetColumn<float[]>(AnomalyColumns.Latents).ToArray(), stopped.Transform(all).GetColumn<float[]>(AnomalyColumns.Latents).ToArray());
        Assert.Equal(summary.HeldOut.MeanSquarePerScale, shorter.TrainingSummary.HeldOut!.MeanSquarePerScale);
    }

    [Fact]
    public void A_continued_run_holds_out_the_same_rows_and_other_slices_are_refused()
    {
        var ml = new MLContext(seed: 0);
        IDataView all = FeatureRows.Load(ml, rows: Rows, seed: 1);
        string checkpoint = Path.Combine(_dir, "run.ckpt");
        UFlowTrainer.Options WithCheckpoint(int epochs, string? path)
        {
            var o = Options(LatentCalibration.HeldOutScale);
            o.Epochs = epochs;
            o.CheckpointPath = path;
            return o;
        }
        using (var straight = ml.AnomalyDetection.Trainers.UFlow(WithCheckpoint(3, null)).Fit(all))
        using (var first = ml.AnomalyDetection.Trainers.UFlow(WithCheckpoint(2, checkpoint)).Fit(all))
        using (var resumed = ml.AnomalyDetection.Trainers.UFlow(WithCheckpoint(3, checkpoint)).Fit(all))
        {
            Assert.Equal(straight.GetOnnxModel(), resumed.GetOnnxModel());
            Assert.Equal(straight.TrainingSummary.HeldOut!.MeanSquarePerScale, resumed.TrainingSummary.HeldOut!.MeanSquarePerScale);
        }
        var other = WithCheckpoint(4, checkpoint);
        other.HeldOutFraction = 0.4;
        var e = Assert.Throws<ArgumentException>(() => ml.AnomalyDetection.Trainers.UFlow(other).Fit(all));
        Assert.Contains("held out 4 of 12 images", e.Message);
        Assert.Contains(checkpoint, e.Message);
        var none = WithCheckpoint(4, checkpoint);
        none.HeldOutFraction = 0;
        none.LatentCalibration = LatentCalibration.None;
        Assert.Contains("hold out 0 of 12", Assert.Throws<ArgumentException>(() => ml.AnomalyDetection.Trainers.UFlow(none).Fit(all)).Message);
    }

    [Fact]
    public void Options_that_need_held_out_rows_and_too_few_rows_are_refused()
    {
        var ml = new MLContext();
        Assert.Contains("HeldOutFraction > 0", Assert.Throws<ArgumentException>(() => ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { HeldOutFraction = 0, EarlyStoppingPatience = 3 })).Message);
        Assert.Contains("HeldOutFraction > 0", Assert.Throws<ArgumentException>(() => ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { HeldOutFraction = 0, LatentCalibration = LatentCalibration.HeldOutScale })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { HeldOutFraction = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { EarlyStoppingPatience = -1 }));
        // The default holds out 10 % (at least 4): 6 rows leave too few to train on.
        var e = Assert.Throws<ArgumentException>(() => ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1 }).Fit(FeatureRows.Load(ml, rows: 6, seed: 1)));
        Assert.Contains("6 normal training images", e.Message);
    }
}
