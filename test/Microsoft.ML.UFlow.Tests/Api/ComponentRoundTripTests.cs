using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Transforms;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Api;

/// <summary>Every API component through <see cref="RoundTrip"/>: schema errors, fit, save, load, bit-identical outputs.</summary>
public sealed class ComponentRoundTripTests : IDisposable
{
    private readonly ApiTestData _data = new();
    private readonly UFlowContext _ctx = new(seed: 3);

    static ComponentRoundTripTests()
    {
        BitComparers.Add((a, b) => a is Image x ? b is Image y && x.Width == y.Width && x.Height == y.Height && x.Channels == y.Channels && x.Pixels.AsSpan().SequenceEqual(y.Pixels) : null);
    }

    public void Dispose() => _data.Dispose();

    [Fact]
    public void LoadImagesDecodesToRgb()
    {
        var loaded = RoundTrip.CheckEstimator(_ctx.Transforms.LoadImages("Image"), _data.Images(_ctx), null, ApiTestData.WrongType(DataCatalog.ImagePathColumn));
        var rows = loaded.Transform(_data.Images(_ctx)).GetRows().ToList();
        Assert.All(rows, r => Assert.Equal(3, r.Get<Image>("Image").Channels));
        Assert.Equal(ImageDecoder.Decode(_data.ImagePaths[0]).Pixels, rows[0].Get<Image>("Image").Pixels);
    }

    [Fact]
    public void ResizeImagesUsesPilBilinear()
    {
        var images = _ctx.Transforms.LoadImages("Image").Fit(_data.Images(_ctx)).Transform(_data.Images(_ctx));
        var loaded = RoundTrip.CheckEstimator(_ctx.Transforms.ResizeImages("Small", 32, 24, "Image"), images, null, ApiTestData.WrongType("Image"));
        var row = loaded.Transform(images).GetRows().First();
        var expected = ImageResize.Bilinear(row.Get<Image>("Image"), 32, 24);
        Assert.Equal(expected.Pixels, row.Get<Image>("Small").Pixels);
    }

    [Fact]
    public void ExtractPixelsNormalisesPerChannel()
    {
        var images = _ctx.Transforms.LoadImages("Image").Fit(_data.Images(_ctx)).Transform(_data.Images(_ctx));
        float[] mean = [0.1f, 0.2f, 0.3f], std = [0.5f, 0.25f, 2f];
        var loaded = RoundTrip.CheckEstimator(_ctx.Transforms.ExtractPixels("Pixels", "Image", mean, std), images, null, ApiTestData.WrongType("Image"));
        var row = loaded.Transform(images).GetRows().First();
        var image = row.Get<Image>("Image");
        var pixels = row.Get<Tensor>("Pixels");
        Assert.Equal([3, image.Height, image.Width], pixels.Shape.ToArray());
        int plane = image.Width * image.Height;
        for (int c = 0; c < 3; c++)
        {
            for (int i = 0; i < plane; i += 97)
            {
                Assert.Equal((image.Pixels[3 * i + c] / 255f - mean[c]) / std[c], pixels.Span[c * plane + i]);
            }
        }
    }

    [Fact]
    public void ExtractPixelsWithImageNetStatisticsMatchesTheImagingLayer()
    {
        var images = _ctx.Transforms.LoadImages("Image").Fit(_data.Images(_ctx)).Transform(_data.Images(_ctx));
        var row = _ctx.Transforms.ExtractPixels("Pixels", "Image").Fit(images).Transform(images).GetRows().First();
        var expected = ImageNormalization.ToTensor(row.Get<Image>("Image"));
        Assert.True(expected.Span.SequenceEqual(row.Get<Tensor>("Pixels").Span));
    }

    [Fact]
    public void LoadMasksBinarisesAtEvaluationSize()
    {
        var loaded = RoundTrip.CheckEstimator(_ctx.Transforms.LoadMasks("GroundTruth", DataCatalog.MaskPathColumn, 32, 16), _data.Images(_ctx), null, ApiTestData.WrongType(DataCatalog.MaskPathColumn));
        var rows = loaded.Transform(_data.Images(_ctx)).GetRows().ToList();
        var first = rows[0].Get<Tensor>("GroundTruth");
        Assert.Equal([16, 16], first.Shape.ToArray());
        Assert.All(first.Span.ToArray(), v => Assert.True(v is 0f or 1f));
        Assert.InRange(TensorPrimitives.Sum(first.Span), 16, 16 * 16 / 2);
        Assert.Equal(0f, TensorPrimitives.Sum(rows[1].Get<Tensor>("GroundTruth").Span));
    }

    [Fact]
    public void UFlowWithNfaSegmentationRoundTrips()
    {
        var train = ApiTestData.Features(6, 11);
        var pipeline = _ctx.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 2, BatchSize = 4, OutputSize = 16, LearningRate = 1e-3 })
            .Append(_ctx.AnomalyDetection.SegmentWithNfa(new NfaSegmentationOptions { OutputSize = 16 }));
        var loaded = RoundTrip.CheckEstimator(pipeline, train, ApiTestData.Features(3, 12), ApiTestData.WrongType(UFlowColumns.Features));
        var rows = loaded.Transform(ApiTestData.Features(3, 12)).GetRows().ToList();
        foreach (var r in rows)
        {
            var map = r.Get<Tensor>(UFlowColumns.AnomalyMap);
            Assert.Equal([16, 16], map.Shape.ToArray());
            Assert.Equal(TensorPrimitives.Max(map.Span), r.Get<float>(UFlowColumns.Score));
            Assert.All(r.Get<Tensor>(UFlowColumns.SegmentationMask).Span.ToArray(), v => Assert.True(v is 0f or 1f));
            var logNfa = r.Get<Tensor>(UFlowColumns.LogNfa).Span;
            var mask = r.Get<Tensor>(UFlowColumns.SegmentationMask).Span;
            for (int i = 0; i < mask.Length; i++) Assert.Equal(logNfa[i] > 0, mask[i] == 1f);
        }
    }

    [Fact]
    public void UFlowMicroBatchesTrainTheSameModel()
    {
        var train = ApiTestData.Features(6, 11);
        (float[] Scores, int Steps, int Reports) Fit(int? micro)
        {
            int reports = 0;
            var options = new UFlowTrainer.Options
            {
                Epochs = 2, BatchSize = 4, MicroBatchSize = micro, OutputSize = 16, LearningRate = 1e-3,
                Progress = new SynchronousProgress(p => reports += p.Phase == "train" ? 1 : 0),
            };
            var model = _ctx.AnomalyDetection.Trainers.UFlow(options).Fit(train);
            float[] scores = model.Transform(ApiTestData.Features(3, 12)).GetRows().Select(r => r.Get<float>(UFlowColumns.Score)).ToArray();
            return (scores, model.TrainingSummary.Steps, reports);
        }
        var whole = Fit(null);
        var micro = Fit(3);
        for (int i = 0; i < whole.Scores.Length; i++) Assert.Equal(whole.Scores[i], micro.Scores[i], 1e-4f);
        // 6 images in batches of 4 + 2 for 2 epochs: 4 optimiser steps, whether a batch is read whole or as 3 + 1.
        Assert.Equal(4, whole.Steps);
        Assert.Equal(4, micro.Steps);
        Assert.Equal(4, micro.Reports);
        Assert.Throws<ArgumentOutOfRangeException>(() => _ctx.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { MicroBatchSize = 0 }).Fit(train));
    }

    [Fact]
    public void UFlowTrainingContinuesFromItsCheckpoint()
    {
        // 3 epochs at once, against 2 epochs and then the same options with 3 epochs and the same checkpoint file.
        var train = ApiTestData.Features(6, 11);
        string dir = Directory.CreateTempSubdirectory("uflow-api-checkpoint-").FullName;
        try
        {
            UFlowTrainer.Options Options(int epochs, string? checkpoint) => new() { Epochs = epochs, BatchSize = 4, OutputSize = 16, LearningRate = 1e-3, CheckpointPath = checkpoint };
            (float[] Scores, UFlowTrainingSummary Summary) Fit(UFlowTrainer.Options options)
            {
                var model = _ctx.AnomalyDetection.Trainers.UFlow(options).Fit(train);
                return (model.Transform(ApiTestData.Features(3, 12)).GetRows().Select(r => r.Get<float>(UFlowColumns.Score)).ToArray(), model.TrainingSummary);
            }
            var straight = Fit(Options(3, null));
            string checkpoint = Path.Combine(dir, "train.ckpt");
            var first = Fit(Options(2, checkpoint));
            Assert.True(File.Exists(checkpoint));
            var continued = Fit(Options(3, checkpoint));

            Assert.NotEqual(straight.Scores, first.Scores);
            Assert.Equal(straight.Scores, continued.Scores); // bit-identical
            Assert.Equal(3, continued.Summary.Epochs);
            Assert.Equal(straight.Summary.Steps, continued.Summary.Steps); // 6 images in batches of 4 + 2: 6 steps in 3 epochs
            Assert.Equal(6, continued.Summary.Steps);
            Assert.Equal(straight.Summary.FinalLoss, continued.Summary.FinalLoss);

            var done = Assert.Throws<ArgumentException>(() => Fit(Options(3, checkpoint)));
            Assert.Contains("already holds 3 epochs", done.Message);
            var other = Options(4, checkpoint);
            other.LearningRate = 2e-3;
            Assert.Contains("learning rate", Assert.Throws<ArgumentException>(() => Fit(other)).Message);
            var steps = Options(4, checkpoint);
            steps.FlowSteps = 2;
            Assert.Contains("delete it to train anew", Assert.Throws<ArgumentException>(() => Fit(steps)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TrainerRejectsFeaturesOfDifferentSizes()
    {
        var schema = new DataSchema([new SchemaColumn(UFlowColumns.Features, ColumnType.FeatureMaps(1))]);
        var data = new InMemoryDataView(schema, [[new[] { new Tensor(8, 4, 4) }], [new[] { new Tensor(8, 8, 8) }]]);
        var e = Assert.Throws<ArgumentException>(() => _ctx.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1 }).Fit(data));
        Assert.Contains("row 1", e.Message);
    }

    [Fact]
    public void TrainersRejectTrainingDataWithoutRows()
    {
        var schema = new DataSchema([new SchemaColumn(UFlowColumns.Features, ColumnType.FeatureMaps(3))]);
        var empty = new InMemoryDataView(schema, new List<object?[]>());
        var e = Assert.Throws<ArgumentException>(() => _ctx.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1 }).Fit(empty));
        Assert.Contains("UFlowTrainer: the training data has no rows", e.Message);
        e = Assert.Throws<ArgumentException>(() => _ctx.AnomalyDetection.Trainers.CsFlow(new CsFlowTrainer.Options { Epochs = 1 }).Fit(empty));
        Assert.Contains("CsFlowTrainer: the training data has no rows", e.Message);
    }

    [Fact]
    public void ChangeModelThresholdReturnsANewModel()
    {
        var train = ApiTestData.Features(4, 5);
        var model = _ctx.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1, OutputSize = 8 })
            .Append(_ctx.AnomalyDetection.SegmentWithNfa(new NfaSegmentationOptions { OutputSize = 8 })).Fit(train);
        var before = model.OfType<AnomalyScoreTransformer>().Single();
        Assert.True(float.IsFinite(before.Threshold));
        var changed = _ctx.AnomalyDetection.ChangeModelThreshold(model, -1f);
        Assert.NotSame(model, changed);
        Assert.Equal(before.Threshold, model.OfType<AnomalyScoreTransformer>().Single().Threshold);
        Assert.Equal(-1f, changed.OfType<AnomalyScoreTransformer>().Single().Threshold);
        Assert.All(changed.Transform(train).GetRows(), r => Assert.True(r.Get<bool>(UFlowColumns.PredictedLabel)));
        Assert.All(model.Transform(train).GetRows(), r => Assert.False(r.Get<bool>(UFlowColumns.PredictedLabel))); // default: max training score
        RoundTrip.CheckTransformer(changed, train);
    }

    [SharedDataFact]
    public void OnnxFeaturizerEmbedsTheModelAndRoundTrips()
    {
        string onnx = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        var pipeline = _ctx.Transforms.LoadImages("Image")
            .Append(_ctx.Transforms.ResizeImages("Image", 64, 64))
            .Append(_ctx.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(_ctx.Transforms.ApplyOnnxFeaturizer(UFlowColumns.Features, "Pixels", onnx, ["stride4", "stride8", "stride16"]));
        var loaded = RoundTrip.CheckEstimator(pipeline, _data.Images(_ctx), null, ApiTestData.WrongType(DataCatalog.ImagePathColumn));
        var maps = loaded.Transform(_data.Images(_ctx)).GetRows().First().Get<Tensor[]>(UFlowColumns.Features);
        Assert.Equal([24, 16, 16], maps[0].Shape.ToArray());
        Assert.Equal([32, 8, 8], maps[1].Shape.ToArray());
        Assert.Equal([96, 4, 4], maps[2].Shape.ToArray());
        var e = Assert.Throws<ArgumentException>(() => _ctx.Transforms.ApplyOnnxFeaturizer("F", "Pixels", onnx, ["nope"]));
        Assert.Contains("nope", e.Message);
    }

    [SharedDataFact]
    public void WholePipelineRoundTripsAndPredictsOneImage()
    {
        string onnx = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        var pipeline = _ctx.Transforms.LoadImages(UFlowColumns.Image)
            .Append(_ctx.Transforms.ResizeImages(UFlowColumns.Image, 64, 64))
            .Append(_ctx.Transforms.ExtractPixels(UFlowColumns.Pixels, UFlowColumns.Image))
            .Append(_ctx.Transforms.ApplyOnnxFeaturizer(UFlowColumns.Features, UFlowColumns.Pixels, onnx, ["stride4", "stride8", "stride16"]))
            .Append(_ctx.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1, BatchSize = 2, OutputSize = 32 }))
            .Append(_ctx.AnomalyDetection.SegmentWithNfa(new NfaSegmentationOptions { OutputSize = 32 }));
        var train = _data.Images(_ctx);
        var loaded = RoundTrip.CheckEstimator(pipeline, train, null, ApiTestData.WrongType(DataCatalog.ImagePathColumn));
        var engine = _ctx.Model.CreatePredictionEngine(loaded, train.Schema);
        var one = engine.PredictImage(_data.ImagePaths[2]);
        var batch = loaded.Transform(train).GetRows().ElementAt(2);
        RoundTrip.AssertValueBitIdentical(batch.Get<float>(UFlowColumns.Score), one.Get<float>(UFlowColumns.Score), "score");
        RoundTrip.AssertValueBitIdentical(batch.Get<Tensor>(UFlowColumns.LogNfa), one.Get<Tensor>(UFlowColumns.LogNfa), "log NFA");
    }

    [Fact]
    public void CaiTFeaturizerEmbedsBothModelsAndRoundTrips()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Ort");
        var pipeline = _ctx.Transforms.LoadImages("Image")
            .Append(_ctx.Transforms.ResizeImages("Image", 448, 448))
            .Append(_ctx.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(_ctx.Transforms.CaiTFeaturizer(UFlowColumns.Features, "Pixels", Path.Combine(dir, "mscait_fine.onnx"), Path.Combine(dir, "mscait_coarse.onnx")));
        var twoImages = _ctx.Data.LoadFromImagePaths(_data.ImagePaths.Take(2));
        var loaded = RoundTrip.CheckEstimator(pipeline, twoImages, null, ApiTestData.WrongType(DataCatalog.ImagePathColumn));
        var maps = loaded.Transform(twoImages).GetRows().First().Get<Tensor[]>(UFlowColumns.Features);
        Assert.Equal([24, 28, 28], maps[0].Shape.ToArray());
        Assert.Equal([16, 14, 14], maps[1].Shape.ToArray());
    }

    [Fact]
    public void CsFlowRoundTripsAndChangesItsThreshold()
    {
        var random = new Microsoft.ML.UFlow.Nn.SeededRandom(21);
        var schema = new DataSchema([new SchemaColumn(UFlowColumns.Features, ColumnType.FeatureMaps(3))]);
        IDataView Features(int rows) => new InMemoryDataView(schema, Enumerable.Range(0, rows).Select(_ => new object?[]
        {
            new[] { 8, 4, 2 }.Select(side =>
            {
                var t = new Tensor(6, side, side);
                var span = t.Span;
                for (int i = 0; i < span.Length; i++) span[i] = (float)random.NextGaussian();
                return t;
            }).ToArray(),
        }).ToList());
        var train = Features(4);
        var trainer = _ctx.AnomalyDetection.Trainers.CsFlow(new CsFlowTrainer.Options { Epochs = 1, BatchSize = 2, HiddenChannels = 8, OutputSize = 16 });
        var loaded = RoundTrip.CheckEstimator(trainer, train, Features(2), ApiTestData.WrongType(UFlowColumns.Features));
        var row = loaded.Transform(train).GetRows().First();
        Assert.Equal([16, 16], row.Get<Tensor>(UFlowColumns.AnomalyMap).Shape.ToArray());
        Assert.False(row.Get<bool>(UFlowColumns.PredictedLabel));
        var lowered = _ctx.AnomalyDetection.ChangeModelThreshold((CsFlowScoreTransformer)loaded, float.NegativeInfinity);
        Assert.True(lowered.Transform(train).GetRows().First().Get<bool>(UFlowColumns.PredictedLabel));
    }

    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
