namespace Microsoft.ML.UFlow.Api;

/// <summary>
/// The entry point of the API, shaped like ML.NET's <c>MLContext</c> (but its own type: this library does not reference
/// ML.NET and its model files are not ML.NET's). It holds the catalogs of verbs and the seed used by trainers that do not
/// get one in their options.
/// </summary>
/// <example>
/// <code>
/// var ctx = new UFlowContext(seed: 0);
/// var train = ctx.Data.LoadFromMvTec("bottle", MvTecSplit.Train);
/// var pipeline = ctx.Transforms.LoadImages("Image", "ImagePath")
///     .Append(ctx.Transforms.ResizeImages("Image", 256, 256))
///     .Append(ctx.Transforms.ExtractPixels("Pixels", "Image", ImageNetNormalization.Mean, ImageNetNormalization.Std))
///     .Append(ctx.Transforms.ApplyOnnxFeaturizer("Features", "Pixels", "backbone.onnx", ["stride4", "stride8", "stride16"]))
///     .Append(ctx.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options()))
///     .Append(ctx.AnomalyDetection.SegmentWithNfa());
/// var model = pipeline.Fit(train);
/// ctx.Model.Save(model, train.Schema, "model.zip");
/// </code>
/// </example>
public sealed class UFlowContext
{
    /// <summary>Creates a context.</summary>
    /// <param name="seed">Seed for trainers whose options leave the seed unset; null means 0 (runs are deterministic by default).</param>
    public UFlowContext(int? seed = null)
    {
        Seed = seed ?? 0;
        Data = new DataCatalog(this);
        Transforms = new TransformsCatalog(this);
        AnomalyDetection = new AnomalyDetectionCatalog(this);
        Model = new ModelCatalog(this);
    }

    /// <summary>The default seed.</summary>
    public int Seed { get; }

    /// <summary>Loading data: MVTec AD, plain folders, MTD, in-memory rows; cache checkpoints.</summary>
    public DataCatalog Data { get; }

    /// <summary>Image loading, resizing, pixel extraction, featurizers.</summary>
    public TransformsCatalog Transforms { get; }

    /// <summary>Anomaly-detection trainers (U-Flow), segmentation, evaluators and thresholds.</summary>
    public AnomalyDetectionCatalog AnomalyDetection { get; }

    /// <summary>Saving and loading models, prediction engines.</summary>
    public ModelCatalog Model { get; }
}
