using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>The README's program on real images: load → resize → featurize → U-Flow → NFA → save → load → score.</summary>
public sealed class PipelineTests
{
    [SharedDataFact]
    public void The_whole_pipeline_saves_as_a_stock_model_that_scores_the_same_after_loading()
    {
        using var bottle = new TinyBottle();
        var ml = new MLContext(seed: 0);
        IDataView train = ml.Data.LoadAnomalyImages(bottle.Folder, AnomalyImageSplit.Train);
        IDataView test = ml.Data.LoadAnomalyImages(bottle.Folder, AnomalyImageSplit.Test);
        var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
            .Append(ml.Transforms.ResizeImages("Image", 64, 64))
            .Append(ml.Transforms.ApplyOnnxFeaturizer("Features", "Image", TinyBottle.MobileNetV2, ["stride4", "stride8", "stride16"]))
            .Append(ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1, BatchSize = 2, OutputSize = 64, HeldOutFraction = 0 }))
            .Append(ml.Transforms.SegmentWithNfa(new NfaSegmentationOptions { OutputSize = 64 }));
        ITransformer model = pipeline.Fit(train);
        string path = Path.Combine(bottle.Folder, "bottle.zip");
        ml.Model.Save(model, train.Schema, path);

        var fresh = new MLContext();
        ITransformer loaded = fresh.Model.Load(path, out _);
        ModelRoundTrip.AssertSameOutputs(model, loaded, test, AnomalyColumns.Score, AnomalyColumns.PredictedLabel,
            AnomalyColumns.AnomalyMap, AnomalyColumns.LogNfa, AnomalyColumns.SegmentationMask);

        // The CLI's ONNX Runtime settings (no spin-waiting between operators) change CPU time, not outputs.
        var quiet = new MLContext();
        quiet.DisableOnnxRuntimeSpinning();
        Assert.NotNull(quiet.GetOnnxSessionOption().CreateSessionOptions);
        ModelRoundTrip.AssertSameOutputs(model, quiet.Model.Load(path, out _), test, AnomalyColumns.Score, AnomalyColumns.PredictedLabel,
            AnomalyColumns.AnomalyMap, AnomalyColumns.LogNfa, AnomalyColumns.SegmentationMask);

        IDataView scored = loaded.Transform(test);
        AnomalyDetectionMetrics image = fresh.AnomalyDetection.Evaluate(scored);
        Assert.InRange(image.AreaUnderRocCurve, 0, 1);
        SegmentationMetrics pixels = fresh.AnomalyDetection.EvaluateSegmentation(scored);
        Assert.Equal(2, pixels.ImageCount);
        Assert.True(pixels.AnomalousPixelCount > 0);
        Assert.InRange(pixels.PixelAuroc, 0, 1);
        Assert.False(double.IsNaN(pixels.MeanIouAtNfa));
        var byType = fresh.AnomalyDetection.EvaluateByDefectType(scored);
        Assert.Equal(["good", "broken_large"], byType.Select(t => t.DefectType).ToArray());

        // A prediction engine over the loaded model, one image path in.
        var engine = fresh.Model.CreatePredictionEngine<ImageInput, UFlowPrediction>(loaded);
        string image0 = test.GetColumn<string>("ImagePath").First();
        UFlowPrediction prediction = engine.Predict(new ImageInput { ImagePath = image0 });
        Assert.Equal(scored.GetColumn<float>(AnomalyColumns.Score).First(), prediction.Score);
        Assert.Equal(64 * 64, prediction.AnomalyMap.Length);
        Assert.Equal(64 * 64, prediction.SegmentationMask.Length);

        var facts = UFlowModelInfo.Read(loaded);
        Assert.Equal("uflow", facts.Method);
        Assert.Equal(3, facts.Scales.Count);
    }

    [Fact]
    public void A_negative_gpu_for_the_onnx_runtime_settings_is_refused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new MLContext().DisableOnnxRuntimeSpinning(gpuDeviceId: -1));
        Assert.Contains("0 or more", error.Message);
    }

    [SharedDataFact]
    public void A_corrupt_image_gives_an_error_naming_the_file()
    {
        using var bottle = new TinyBottle(train: 2);
        string bad = Path.Combine(bottle.Folder, "train", "good", "zz_corrupt.png");
        File.WriteAllBytes(bad, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        var ml = new MLContext(seed: 0);
        IDataView train = ml.Data.LoadAnomalyImages(bottle.Folder, AnomalyImageSplit.Train);
        var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
            .Append(ml.Transforms.ResizeImages("Image", 64, 64))
            .Append(ml.Transforms.ApplyOnnxFeaturizer("Features", "Image", TinyBottle.MobileNetV2, ["stride4", "stride8", "stride16"]))
            .Append(ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1, BatchSize = 2, OutputSize = 64, HeldOutFraction = 0 }));
        var e = Assert.Throws<InvalidDataException>(() => pipeline.Fit(train));
        Assert.Contains("zz_corrupt.png", e.Message);
        Assert.Contains("Invalid input stream", e.Message); // ML.NET's own reason is kept
    }

    [SharedDataFact]
    public void A_featurizer_before_resizing_is_refused_with_the_remedy()
    {
        using var bottle = new TinyBottle(train: 1);
        var ml = new MLContext(seed: 0);
        IDataView train = ml.Data.LoadAnomalyImages(bottle.Folder, AnomalyImageSplit.Train);
        var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
            .Append(ml.Transforms.ApplyOnnxFeaturizer("Features", "Image", TinyBottle.MobileNetV2, ["stride4"]));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Fit(train));
        Assert.Contains("ResizeImages", e.Message);
    }
}
