using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Transforms;
using Microsoft.ML.UFlow.Features;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>
/// The pipelines 'uflow train' fits: load → resize (PIL bilinear) → ImageNet pixels → ONNX features → U-Flow → NFA, or
/// (<c>--model csflow</c>) load → resize → ImageNet pixels → one ONNX output at three input scales (METHOD.md C.1) → CS-Flow.
/// </summary>
internal static class DefaultPipeline
{
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

    private static readonly string[][] s_knownLayerSets =
    [
        ["stride4", "stride8", "stride16"],        // MobileNetV2 features model
        ["layer1_act", "layer2_act", "layer3_act"], // ResNet-50 v2 cut after stage 3
    ];

    public static EstimatorChain<NfaSegmentationTransformer> Create(UFlowContext ctx, string backbone, IReadOnlyList<string> layers, int inputSize, UFlowTrainer.Options options)
    {
        if (inputSize < 32 || inputSize % 32 != 0) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "--input-size must be a positive multiple of 32.");
        return ctx.Transforms.LoadImages(UFlowColumns.Image)
            .Append(ctx.Transforms.ResizeImages(UFlowColumns.Image, inputSize, inputSize))
            .Append(ctx.Transforms.ExtractPixels(UFlowColumns.Pixels, UFlowColumns.Image))
            .Append(ctx.Transforms.ApplyOnnxFeaturizer(UFlowColumns.Features, UFlowColumns.Pixels, backbone, layers))
            .Append(ctx.AnomalyDetection.Trainers.UFlow(options))
            .Append(ctx.AnomalyDetection.SegmentWithNfa());
    }

    /// <summary>The CS-Flow pipeline: the same image steps, then <paramref name="layer"/> at three input scales and CS-Flow.</summary>
    public static EstimatorChain<CsFlowScoreTransformer> CreateCsFlow(UFlowContext ctx, string backbone, string layer, int inputSize, CsFlowTrainer.Options options)
    {
        if (inputSize < 64 || inputSize % 64 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "--input-size must be a positive multiple of 64 for CS-Flow (its 1/4 input copy must still be a whole number of stride-16 cells).");
        }
        return ctx.Transforms.LoadImages(UFlowColumns.Image)
            .Append(ctx.Transforms.ResizeImages(UFlowColumns.Image, inputSize, inputSize))
            .Append(ctx.Transforms.ExtractPixels(UFlowColumns.Pixels, UFlowColumns.Image))
            .Append(ctx.Transforms.ApplyOnnxFeaturizerForCsFlow(UFlowColumns.Features, UFlowColumns.Pixels, backbone, layer))
            .Append(ctx.AnomalyDetection.Trainers.CsFlow(options));
    }

    /// <summary>The layers to use: the user's list, or the first known set that the model has.</summary>
    public static string[] ResolveLayers(string backbone, string? layers)
    {
        if (!string.IsNullOrWhiteSpace(layers)) return layers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (!File.Exists(backbone)) throw new FileNotFoundException($"Backbone '{backbone}' does not exist.", backbone);
        ArgumentException? last = null;
        foreach (var set in s_knownLayerSets)
        {
            try
            {
                using var probe = new OnnxFeaturizer(backbone, set);
                return set;
            }
            catch (ArgumentException e) { last = e; }
        }
        throw new ArgumentException($"Cannot choose layers for '{Path.GetFileName(backbone)}'; pass --layers. {last?.Message}");
    }

    /// <summary>CS-Flow's backbone output: the user's, or the first known one that the model has.</summary>
    public static string ResolveCsFlowLayer(string backbone, string? layer)
    {
        if (!string.IsNullOrWhiteSpace(layer)) return layer.Trim();
        if (!File.Exists(backbone)) throw new FileNotFoundException($"Backbone '{backbone}' does not exist.", backbone);
        foreach (string known in s_knownCsFlowLayers)
        {
            try
            {
                using var probe = new OnnxFeaturizer(backbone, [known]);
                return known;
            }
            catch (ArgumentException) { }
        }
        throw new ArgumentException($"Cannot choose the CS-Flow output of '{Path.GetFileName(backbone)}' (it has none of {string.Join(", ", s_knownCsFlowLayers)}); pass --layer.");
    }

    /// <summary>The input size of a loaded pipeline (its resize), or 256.</summary>
    public static int InputSize(ITransformer model)
        => model is IEnumerable<ITransformer> chain ? chain.OfType<ResizeImagesTransformer>().Select(r => r.ImageHeight).FirstOrDefault(256) : 256;
}
