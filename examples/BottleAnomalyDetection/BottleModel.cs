using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Evaluation;
using Microsoft.ML.UFlow.Metrics;
using Microsoft.ML.UFlow.Tensors;

namespace BottleAnomalyDetection;

/// <summary>What the model takes: one image file.</summary>
public sealed class ModelInput
{
    /// <summary>Path of a PNG, JPEG or BMP image.</summary>
    public required string ImagePath { get; init; }
}

/// <summary>What the model returns for one image.</summary>
public sealed class ModelOutput
{
    /// <summary>Image anomaly score (max of the anomaly map, in [0, 1]).</summary>
    public float Score { get; init; }

    /// <summary>True when the automatic a-contrario segmentation found at least one anomalous pixel (log10 NFA &lt; 0).</summary>
    public bool IsAnomalous { get; init; }

    /// <summary>Pixels of the 256×256 segmentation mask that are anomalous.</summary>
    public int AnomalousPixels { get; init; }

    /// <summary>The largest −log10 NFA in the image (positive = detection).</summary>
    public float MaxNegativeLog10Nfa { get; init; }
}

/// <summary>The model, in the shape of an ML.NET Model Builder generated class: build the pipeline, train, evaluate, predict.</summary>
public static class BottleModel
{
    /// <summary>Load → resize to 256 (PIL bilinear) → ImageNet pixels → MobileNetV2 features → U-Flow → NFA segmentation.</summary>
    public static EstimatorChain<NfaSegmentationTransformer> BuildPipeline(UFlowContext ctx, string backboneOnnx, int epochs)
        => ctx.Transforms.LoadImages(outputColumnName: "Image", inputColumnName: "ImagePath")
            .Append(ctx.Transforms.ResizeImages(outputColumnName: "Image", imageWidth: 256, imageHeight: 256))
            .Append(ctx.Transforms.ExtractPixels(outputColumnName: "Pixels", inputColumnName: "Image"))
            .Append(ctx.Transforms.ApplyOnnxFeaturizer(outputColumnName: "Features", inputColumnName: "Pixels",
                modelFile: backboneOnnx, outputNames: ["stride4", "stride8", "stride16"]))
            .Append(ctx.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = epochs, BatchSize = 8, LearningRate = 1e-3 }))
            .Append(ctx.AnomalyDetection.SegmentWithNfa());

    /// <summary>Trains on the normal images of <paramref name="categoryFolder"/> and saves the model to <paramref name="modelPath"/>.</summary>
    public static ITransformer Train(UFlowContext ctx, string categoryFolder, string backboneOnnx, string modelPath, int epochs)
    {
        IDataView train = ctx.Data.LoadFromDirectory(categoryFolder, DataSplit.Train);
        var model = BuildPipeline(ctx, backboneOnnx, epochs).Fit(train);
        ctx.Model.Save(model, train.Schema, modelPath);
        return model;
    }

    /// <summary>
    /// Image AUROC, the pixel metrics at 256×256 and the metrics per defect type on the test images of
    /// <paramref name="categoryFolder"/>.
    /// </summary>
    public static (AnomalyDetectionMetrics Image, SegmentationMetrics Pixels, IReadOnlyList<DefectTypeMetrics> ByDefectType) Evaluate(
        UFlowContext ctx, ITransformer model, string categoryFolder)
    {
        IDataView test = ctx.Data.LoadFromDirectory(categoryFolder, DataSplit.Test);
        IDataView scored = model.Transform(test);
        scored = ctx.Transforms.LoadMasks("GroundTruth", "MaskPath", inputSize: 256, evaluationSize: 256).Fit(scored).Transform(scored);
        IDataView cached = ctx.Data.Cache(scored); // score once, evaluate three times
        return (ctx.AnomalyDetection.Evaluate(cached), ctx.AnomalyDetection.EvaluateSegmentation(cached), ctx.AnomalyDetection.EvaluateByDefectType(cached));
    }

    /// <summary>Loads a saved model and scores one image.</summary>
    public static ModelOutput Predict(UFlowContext ctx, string modelPath, ModelInput input)
    {
        ITransformer model = ctx.Model.Load(modelPath, out DataSchema inputSchema);
        PredictionEngine engine = ctx.Model.CreatePredictionEngine(model, inputSchema);
        DataRow row = engine.PredictImage(input.ImagePath);
        var mask = row.Get<Tensor>("SegmentationMask");
        int pixels = 0;
        foreach (float v in mask.Span) pixels += v > 0.5f ? 1 : 0;
        float maxLogNfa = float.NegativeInfinity;
        foreach (float v in row.Get<Tensor>("LogNfa").Span) maxLogNfa = Math.Max(maxLogNfa, v);
        return new ModelOutput { Score = row.Get<float>("Score"), IsAnomalous = pixels > 0, AnomalousPixels = pixels, MaxNegativeLog10Nfa = maxLogNfa };
    }
}
