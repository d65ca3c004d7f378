using Microsoft.ML.UFlow;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML;

/// <summary>The featurizers and the NFA segmentation of Microsoft.ML.UFlow, as verbs of <see cref="TransformsCatalog"/>.</summary>
public static class UFlowTransformsCatalog
{
    /// <summary>
    /// Create an <see cref="OnnxFeaturizerEstimator"/>, which runs an ImageNet backbone (ONNX) on an image column and
    /// outputs the chosen feature maps flattened and concatenated (finest first) with their shapes.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The features column (vector of Single); its shapes go to <c>{name}.Shapes</c>.</param>
    /// <param name="inputColumnName">The image column (<c>MLImage</c> of known size: apply <c>ResizeImages</c> first).</param>
    /// <param name="modelFile">The backbone: one float32 input [N, 3, H, W] taking ImageNet-normalised RGB in [0, 1].</param>
    /// <param name="layers">The values of the graph to use, finest first (MobileNetV2: <c>stride4, stride8, stride16</c>;
    /// ResNet-50 v2: <c>layer1_act, layer2_act, layer3_act</c>).</param>
    /// <param name="gpuDeviceId">The GPU to run on (needs Microsoft.ML.OnnxRuntime.Gpu); null for the CPU.</param>
    /// <param name="fallbackToCpu">Run on the CPU when the GPU cannot be used, instead of failing.</param>
    /// <remarks>Only apply models from trusted sources.</remarks>
    public static OnnxFeaturizerEstimator ApplyOnnxFeaturizer(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        string modelFile, IReadOnlyList<string> layers, int? gpuDeviceId = null, bool fallbackToCpu = false)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0) throw new ArgumentException("Choose at least one output of the backbone.", nameof(layers));
        byte[] model = OnnxFeaturizerEstimator.ReadModel(modelFile);
        string[] chosen = [.. layers];
        return new(catalog, outputColumnName, inputColumnName,
            (pixels, h, w) => BackboneGraph.Prepare(model, Path.GetFileName(modelFile), chosen, pixels, outputColumnName, h, w), gpuDeviceId, fallbackToCpu);
    }

    /// <summary>
    /// Create an <see cref="OnnxFeaturizerEstimator"/> for CS-Flow (METHOD.md C.1): the image and its nearest-neighbour
    /// copies at 1/2 and 1/4 each go through the backbone, and the output <paramref name="layer"/> of the three runs is
    /// flattened and concatenated (full size first) with its shapes.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The features column (vector of Single); its shapes go to <c>{name}.Shapes</c>.</param>
    /// <param name="inputColumnName">The image column (<c>MLImage</c> of known size, a multiple of 4 times the backbone's stride).</param>
    /// <param name="modelFile">The backbone (as for <see cref="ApplyOnnxFeaturizer"/>).</param>
    /// <param name="layer">The one output to use (MobileNetV2: <c>stride16</c>; ResNet-50 v2: <c>layer3</c>).</param>
    /// <param name="gpuDeviceId">The GPU to run on (needs Microsoft.ML.OnnxRuntime.Gpu); null for the CPU.</param>
    /// <param name="fallbackToCpu">Run on the CPU when the GPU cannot be used, instead of failing.</param>
    public static OnnxFeaturizerEstimator ApplyOnnxFeaturizerForCsFlow(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        string modelFile, string layer, int? gpuDeviceId = null, bool fallbackToCpu = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(layer);
        byte[] model = OnnxFeaturizerEstimator.ReadModel(modelFile);
        return new(catalog, outputColumnName, inputColumnName,
            (pixels, h, w) => BackboneGraph.PrepareCsFlow(model, Path.GetFileName(modelFile), layer, pixels, outputColumnName, h, w), gpuDeviceId, fallbackToCpu);
    }

    /// <summary>
    /// Create an <see cref="OnnxFeaturizerEstimator"/> for the paper's MS-CaiT features (METHOD.md A.2.1): the fine CaiT on
    /// the image, the coarse one on its bicubic half, both token outputs as maps, flattened and concatenated (fine first).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The features column (vector of Single); its shapes go to <c>{name}.Shapes</c>.</param>
    /// <param name="inputColumnName">The image column (<c>MLImage</c> resized to 448×448 for the paper's models).</param>
    /// <param name="fineModelFile">The fine model (timm <c>cait_m48_448</c>, first 41 blocks; <c>tools/export_mscait.py</c>).</param>
    /// <param name="coarseModelFile">The coarse model (timm <c>cait_s24_224</c>, first 21 blocks).</param>
    /// <param name="gpuDeviceId">The GPU to run on (needs Microsoft.ML.OnnxRuntime.Gpu); null for the CPU.</param>
    /// <param name="fallbackToCpu">Run on the CPU when the GPU cannot be used, instead of failing.</param>
    public static OnnxFeaturizerEstimator CaiTFeaturizer(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        string fineModelFile, string coarseModelFile, int? gpuDeviceId = null, bool fallbackToCpu = false)
    {
        byte[] fine = OnnxFeaturizerEstimator.ReadModel(fineModelFile);
        byte[] coarse = OnnxFeaturizerEstimator.ReadModel(coarseModelFile);
        return new(catalog, outputColumnName, inputColumnName, (pixels, h, w) =>
        {
            if (h != w) throw new ArgumentOutOfRangeException(nameof(inputColumnName), $"MS-CaiT takes square images; '{inputColumnName}' is {w}x{h}.");
            return BackboneGraph.PrepareMsCait(fine, coarse, pixels, outputColumnName, h);
        }, gpuDeviceId, fallbackToCpu);
    }

    /// <summary>
    /// Create an <see cref="NfaSegmentationEstimator"/>, U-Flow's automatic a-contrario segmentation (METHOD.md A.7) of the
    /// <c>Latents</c> that <c>UFlow()</c> outputs: <c>LogNfa</c> (−log10 NFA per pixel) and <c>SegmentationMask</c>
    /// (log10 NFA &lt; 0, or &lt; log10 ε with a false-alarm budget ε).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Output size, upsampling, false-alarm budget; null for the paper's settings.</param>
    public static NfaSegmentationEstimator SegmentWithNfa(this TransformsCatalog catalog, NfaSegmentationOptions? options = null)
        => new(catalog, options);
}
