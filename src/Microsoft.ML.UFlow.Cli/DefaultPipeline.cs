using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.UFlow.Benchmarks;
using Microsoft.ML.UFlow.Cli.Commands;
using Microsoft.ML.UFlow.Onnx;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>
/// The pipelines 'uflow train' fits: load → resize → ONNX features (ImageNet normalisation folded in) → U-Flow → NFA, or
/// (<c>--model csflow</c>) load → resize → one ONNX output at three input scales (METHOD.md C.1) → CS-Flow.
/// </summary>
internal static class DefaultPipeline
{
    /// <summary>
    /// U-Flow's default backbone, relative to the working directory: ResNet-50 v2 cut after stage 3, whose 256–1024 channels
    /// per scale let a defect of 1 % of the image reach the NFA's number of tests at u ≈ 3–7, where MobileNetV2's 24–96 need
    /// u ≈ 15–50 (docs/RESULTS.md, issue 22).
    /// </summary>
    public const string UFlowBackbone = "../shared/models/resnet50v2_imagenet_layer1-3.onnx";

    /// <summary>CS-Flow's default backbone, relative to the working directory (the one 'uflow bench csflow' uses).</summary>
    public const string CsFlowBackbone = "../shared/models/mobilenetv2_1.0_imagenet_features.onnx";

    /// <summary>CS-Flow's default backbone output (MobileNetV2's 96-channel stride-16 map; docs/RESULTS.md says why).</summary>
    public const string CsFlowLayer = "stride16";

    /// <summary>
    /// CS-Flow's output per known backbone, tried in order: MobileNetV2's <c>stride16</c>, then ResNet-50 v2's raw residual
    /// <c>layer3</c> — not <c>layer3_act</c>, whose ReLU makes most values exactly zero, a point mass a flow fits instead of
    /// the normal features (docs/RESULTS.md, CS-Flow, session 4).
    /// </summary>
    private static readonly string[] s_knownCsFlowLayers = [CsFlowLayer, "layer3"];

    /// <summary>CS-Flow's default input side (METHOD.md C.1: 384 for MTD; 768 for MVTec AD).</summary>
    public const int CsFlowInputSize = 384;

    /// <summary>U-Flow's sides must be multiples of 32, the deepest stride of the known backbones.</summary>
    public const int UFlowStride = 32;

    /// <summary>CS-Flow's sides must be multiples of 64: its 1/4 input copy must still be a whole number of stride-16 cells.</summary>
    public const int CsFlowStride = 64;

    private static readonly string[][] s_knownLayerSets =
    [
        ["stride4", "stride8", "stride16"],        // MobileNetV2 features model
        ["layer1_act", "layer2_act", "layer3_act"], // ResNet-50 v2 cut after stage 3
    ];

    /// <summary>The U-Flow pipeline over an <c>ImagePath</c> column: load, resize, backbone features, U-Flow, NFA segmentation.</summary>
    public static IEstimator<ITransformer> Create(MLContext ml, string backbone, IReadOnlyList<string> layers, InputSize inputSize, UFlowTrainer.Options options)
    {
        return Features(ml, backbone, layers, inputSize)
            .Append(ml.AnomalyDetection.Trainers.UFlow(options))
            .Append(ml.Transforms.SegmentWithNfa());
    }

    /// <summary>U-Flow's features over an <c>ImagePath</c> column: load, resize, the backbone's <paramref name="layers"/> (<c>Features</c>).</summary>
    public static IEstimator<ITransformer> Features(MLContext ml, string backbone, IReadOnlyList<string> layers, InputSize inputSize)
    {
        inputSize.Validate(UFlowStride, "the deepest stride of the backbone");
        return Images(ml, inputSize).Append(ml.Transforms.ApplyOnnxFeaturizer(AnomalyColumns.Features, AnomalyColumns.Image, backbone, layers));
    }

    /// <summary>U-Flow's backbone, layers, input size and features as the benches reuse them (<c>uflow bench quality</c>, <c>knn</c>).</summary>
    public static UFlowFeatureDefaults ForBenches() => new(
        UFlowBackbone,
        ResolveLayers,
        (given, images) =>
        {
            var (size, description) = InputSize.Choose(given is null ? null : InputSize.Parse(given), images, TrainSettings.UFlowInputSize, UFlowStride);
            return (size.Width, size.Height, description);
        },
        (ml, backbone, layers, width, height) => Features(ml, backbone, layers, new InputSize(width, height)));

    /// <summary>
    /// The tiled U-Flow model: the same steps fitted on <paramref name="tiles"/> (<see cref="ImageTileData"/> rows, already
    /// of the tile size) with maps of the tile's side, behind a <c>LoadImages</c> step fitted on <paramref name="train"/>, so
    /// the saved model is the usual pipeline over an <c>ImagePath</c> column that scores one tile.
    /// </summary>
    public static ITransformer FitTiled(MLContext ml, string backbone, IReadOnlyList<string> layers, ImageTiling tiling, UFlowTrainer.Options options, IDataView train, IDataView tiles)
    {
        tiling.RequireMultipleOf(UFlowStride);
        options.OutputSize = tiling.TileSize; // one map value per tile pixel: stitching needs no resampling
        var loader = ml.Transforms.LoadImages(AnomalyColumns.Image, imageFolder: null, inputColumnName: AnomalyColumns.ImagePath).Fit(train);
        var rest = ml.Transforms.ResizeImages(AnomalyColumns.Image, tiling.TileSize, tiling.TileSize, resizing: ImageResizingEstimator.ResizingKind.Fill)
            .Append(ml.Transforms.ApplyOnnxFeaturizer(AnomalyColumns.Features, AnomalyColumns.Image, backbone, layers))
            .Append(ml.AnomalyDetection.Trainers.UFlow(options))
            .Append(ml.Transforms.SegmentWithNfa(new Scoring.NfaSegmentationOptions { OutputSize = tiling.TileSize }))
            .Fit(tiles);
        return new TransformerChain<ITransformer>([loader, .. (IEnumerable<ITransformer>)rest]);
    }

    /// <summary>The CS-Flow pipeline: the same image steps, then <paramref name="layer"/> at three input scales and CS-Flow.</summary>
    public static IEstimator<ITransformer> CreateCsFlow(MLContext ml, string backbone, string layer, InputSize inputSize, CsFlowTrainer.Options options)
    {
        inputSize.Validate(CsFlowStride, "CS-Flow's 1/4 input copy must still be a whole number of stride-16 cells");
        return Images(ml, inputSize)
            .Append(ml.Transforms.ApplyOnnxFeaturizerForCsFlow(AnomalyColumns.Features, AnomalyColumns.Image, backbone, layer))
            .Append(ml.AnomalyDetection.Trainers.CsFlow(options));
    }

    // Stretched to W×H (Fill), not ML.NET's default centre crop: the ground-truth masks are stretched the same way. The
    // aspect-preserving default W×H (InputSize.FromAspect) keeps the stretch small for images of the typical aspect.
    private static EstimatorChain<ImageResizingTransformer> Images(MLContext ml, InputSize inputSize)
        => ml.Transforms.LoadImages(AnomalyColumns.Image, imageFolder: null, inputColumnName: AnomalyColumns.ImagePath)
            .Append(ml.Transforms.ResizeImages(AnomalyColumns.Image, inputSize.Width, inputSize.Height, resizing: ImageResizingEstimator.ResizingKind.Fill));

    /// <summary>The layers to use: the user's list, or the first known set that the model has.</summary>
    public static string[] ResolveLayers(string backbone, string? layers)
    {
        if (!string.IsNullOrWhiteSpace(layers)) return layers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return FirstKnown(backbone, s_knownLayerSets)
            ?? throw new ArgumentException($"Cannot choose layers for '{Path.GetFileName(backbone)}' (it has none of {string.Join(" / ", s_knownLayerSets.Select(set => string.Join(",", set)))}); pass --layers.");
    }

    /// <summary>CS-Flow's backbone output: the user's, or the first known one that the model has.</summary>
    public static string ResolveCsFlowLayer(string backbone, string? layer)
    {
        if (!string.IsNullOrWhiteSpace(layer)) return layer.Trim();
        return FirstKnown(backbone, s_knownCsFlowLayers.Select(l => new[] { l }))?[0]
            ?? throw new ArgumentException($"Cannot choose the CS-Flow output of '{Path.GetFileName(backbone)}' (it has none of {string.Join(", ", s_knownCsFlowLayers)}); pass --layer.");
    }

    /// <summary>The first of <paramref name="candidates"/> whose outputs are all outputs of the model, or null.</summary>
    private static string[]? FirstKnown(string backbone, IEnumerable<string[]> candidates)
    {
        if (!File.Exists(backbone)) throw new FileNotFoundException($"Backbone '{backbone}' does not exist.", backbone);
        var outputs = BackboneGraph.OutputNames(File.ReadAllBytes(backbone), Path.GetFileName(backbone)).ToHashSet();
        return candidates.FirstOrDefault(set => set.All(outputs.Contains));
    }
}
