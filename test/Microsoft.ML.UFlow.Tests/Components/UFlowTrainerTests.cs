using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>The U-Flow estimator on real ML.NET: fit on features, score, NFA, save, load in a fresh context.</summary>
public sealed class UFlowTrainerTests
{
    private static UFlowTrainer.Options Quick() => new() { Epochs = 2, BatchSize = 4, OutputSize = 32, Seed = 3 };

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
