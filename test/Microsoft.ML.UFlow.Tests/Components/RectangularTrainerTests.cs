using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>
/// U-Flow and CS-Flow estimators on rectangular feature maps (a W = 1.5·H input): trained on TorchSharp, scored, segmented,
/// saved and loaded, with maps of the input's aspect (shorter side S) and the grid in the model facts.
/// </summary>
public sealed class RectangularTrainerTests(Xunit.Abstractions.ITestOutputHelper output)
{
    // H×W: 8x12 and 4x6 for U-Flow; 8x12, 4x6, 2x3 for CS-Flow.
    private static readonly (int Channels, int Height, int Width)[] s_uflowScales = [(8, 8, 12), (16, 4, 6)];
    private static readonly (int Channels, int Height, int Width)[] s_csflowScales = [(4, 8, 12), (4, 4, 6), (4, 2, 3)];

    [Fact]
    public void UFlow_on_rectangular_maps_scores_and_segments_on_a_grid_of_their_aspect_before_and_after_loading()
    {
        var ml = new MLContext(seed: 0);
        IDataView train = FeatureRows.Load(ml, rows: 8, seed: 1, s_uflowScales);
        IDataView test = FeatureRows.Load(ml, rows: 4, seed: 2, s_uflowScales, withAnomalies: true);
        var model = ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 2, BatchSize = 4, OutputSize = 16, Seed = 3, HeldOutFraction = 0 })
            .Append(ml.Transforms.SegmentWithNfa(new NfaSegmentationOptions { OutputSize = 16 })).Fit(train);
        var scorer = ((IEnumerable<ITransformer>)model).OfType<AnomalyScoreTransformer>().Single();
        Assert.Equal((16, 16, 24), (scorer.OutputSize, scorer.MapHeight, scorer.MapWidth));

        var scored = model.Transform(test);
        Assert.All(scored.GetColumn<float[]>(AnomalyColumns.AnomalyMap), m => Assert.Equal(16 * 24, m.Length));
        Assert.All(scored.GetColumn<float[]>(AnomalyColumns.LogNfa), m => Assert.Equal(16 * 24, m.Length));
        Assert.All(scored.GetColumn<bool[]>(AnomalyColumns.SegmentationMask), m => Assert.Equal(16 * 24, m.Length));
        var mapType = (VectorDataViewType)scored.Schema[AnomalyColumns.AnomalyMap].Type;
        Assert.Equal([16, 24], mapType.Dimensions.ToArray()[^2..]); // OnnxTransformer keeps the batch: [1, 16, 24]

        // The planted blob (fine rows and columns 2..4 of 8x12) is where the anomalous rows' maps peak.
        float[][] maps = scored.GetColumn<float[]>(AnomalyColumns.AnomalyMap).ToArray();
        int peak = Array.IndexOf(maps[1], maps[1].Max());
        Assert.InRange(peak / 24, 2 * 2 - 2, 5 * 2 + 1);
        Assert.InRange(peak % 24, 2 * 2 - 2, 5 * 2 + 1);

        var loaded = ModelRoundTrip.SaveAndLoad(model, train.Schema, out string path);
        try
        {
            ModelRoundTrip.AssertSameOutputs(model, loaded, test, AnomalyColumns.Score, AnomalyColumns.AnomalyMap, AnomalyColumns.LogNfa, AnomalyColumns.SegmentationMask);
            var facts = UFlowModelInfo.Read(path);
            Assert.Equal((16, 16, 24), (facts.MapSize, facts.MapHeight, facts.MapWidth));
            Assert.Equal(new FlowScale(8, 8, 12), facts.Scales[0]);
            Assert.Null(facts.InputWidth); // features only: no Image column to record
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CsFlow_on_rectangular_maps_gives_a_localisation_map_of_their_aspect()
    {
        var ml = new MLContext(seed: 0);
        IDataView train = FeatureRows.Load(ml, rows: 6, seed: 1, s_csflowScales);
        IDataView test = FeatureRows.Load(ml, rows: 4, seed: 2, s_csflowScales, withAnomalies: true);
        using CsFlowScoreTransformer model = ml.AnomalyDetection.Trainers.CsFlow(new CsFlowTrainer.Options { Epochs = 2, BatchSize = 4, HiddenChannels = 8, OutputSize = 16, Seed = 3 }).Fit(train);
        Assert.Equal((16, 24), (model.MapHeight, model.MapWidth));
        Assert.All(model.Transform(test).GetColumn<float[]>(AnomalyColumns.AnomalyMap), m => Assert.Equal(16 * 24, m.Length));
        var facts = Microsoft.ML.UFlow.Onnx.FlowModelFacts.Read(model.GetOnnxModel());
        Assert.Equal((16, 24), (facts.MapHeight, facts.MapWidth));
    }

    [Fact]
    public void Features_of_another_size_than_the_training_ones_are_refused_naming_the_column_and_sizes()
    {
        var ml = new MLContext(seed: 0);
        IDataView train = FeatureRows.Load(ml, rows: 4, seed: 1, s_uflowScales);
        using AnomalyScoreTransformer scorer = ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1, BatchSize = 4, OutputSize = 16, Seed = 3, HeldOutFraction = 0 }).Fit(train);
        // The square 8x8 / 4x4 features of another input size (1280 + 256 values, not 768 + 384).
        IDataView square = FeatureRows.Load(ml, rows: 2, seed: 2, [(8, 8, 8), (16, 4, 4)]);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => scorer.Transform(square));
        output.WriteLine(error.Message);
        Assert.Contains("Column 'Features' holds 768 values per row, but this uflow model was trained on 1152 (8x8x12;16x4x6, C×H×W)", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => scorer.GetOutputSchema(square.Schema));
    }
}
