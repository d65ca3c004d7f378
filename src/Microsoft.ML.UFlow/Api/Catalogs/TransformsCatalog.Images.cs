using Microsoft.ML.UFlow.Api.Transforms;

namespace Microsoft.ML.UFlow.Api;

public sealed partial class TransformsCatalog
{
    /// <summary>ImageNet per-channel mean (RGB, [0,1] units), the normalisation of the U-Flow pre-processing and of the shipped backbones.</summary>
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet per-channel standard deviation (RGB).</summary>
    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Decodes the image files named in <paramref name="inputColumnName"/> (PNG, JPEG, BMP) into RGB images.</summary>
    /// <param name="outputColumnName">The image column to produce.</param>
    /// <param name="inputColumnName">The text column with the paths (default <c>ImagePath</c>).</param>
    /// <param name="imageFolder">Folder for relative paths; null = as given.</param>
    public TrivialEstimator<LoadImagesTransformer> LoadImages(string outputColumnName, string inputColumnName = DataCatalog.ImagePathColumn, string? imageFolder = null)
        => new(new LoadImagesTransformer(outputColumnName, inputColumnName, imageFolder));

    /// <summary>
    /// Converts an RGB image column into a normalised float tensor [3, H, W]: (v/255 − mean[c]) / std[c].
    /// Null statistics mean ImageNet's (<see cref="ImageNetMean"/>, <see cref="ImageNetStd"/>).
    /// </summary>
    public TrivialEstimator<ExtractPixelsTransformer> ExtractPixels(string outputColumnName, string inputColumnName, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null)
        => new(new ExtractPixelsTransformer(outputColumnName, inputColumnName, mean ?? ImageNetMean, std ?? ImageNetStd));

    /// <summary>
    /// Runs any ONNX backbone (ONNX Runtime, CPU) on a normalised [3, H, W] tensor column and keeps the named outputs as
    /// multi-scale feature maps, finest first. The model bytes are embedded in saved models.
    /// </summary>
    /// <param name="outputColumnName">The feature-maps column to produce (usually <c>Features</c>).</param>
    /// <param name="inputColumnName">The pixel tensor column.</param>
    /// <param name="modelFile">The .onnx file.</param>
    /// <param name="outputNames">The model outputs to keep (for example <c>stride4, stride8, stride16</c> for MobileNetV2).</param>
    /// <exception cref="FileNotFoundException">The model file does not exist.</exception>
    /// <exception cref="ArgumentException">An output name is not in the model (the message lists those that are).</exception>
    public TrivialEstimator<OnnxFeaturizerTransformer> ApplyOnnxFeaturizer(string outputColumnName, string inputColumnName, string modelFile, IReadOnlyList<string> outputNames)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelFile);
        if (!File.Exists(modelFile)) throw new FileNotFoundException($"ONNX model '{modelFile}' does not exist.", modelFile);
        return new(new OnnxFeaturizerTransformer(outputColumnName, inputColumnName, File.ReadAllBytes(modelFile), outputNames, Path.GetFileName(modelFile)));
    }

    /// <summary>
    /// Resizes images to <paramref name="imageWidth"/> × <paramref name="imageHeight"/> with PIL's antialiased bilinear
    /// filter (the U-Flow pre-processing). <paramref name="inputColumnName"/> defaults to <paramref name="outputColumnName"/>.
    /// </summary>
    public TrivialEstimator<ResizeImagesTransformer> ResizeImages(string outputColumnName, int imageWidth, int imageHeight, string? inputColumnName = null)
        => new(new ResizeImagesTransformer(outputColumnName, imageWidth, imageHeight, inputColumnName ?? outputColumnName));

    /// <summary>
    /// Loads ground-truth masks (paths in <paramref name="inputColumnName"/>, "" = normal) as 0/1 tensors at the evaluation
    /// size, resized as METHOD.md Part B (PIL bilinear to the input size, then bilinear to <paramref name="evaluationSize"/>, &gt; 0.5).
    /// </summary>
    public TrivialEstimator<LoadMasksTransformer> LoadMasks(string outputColumnName, string inputColumnName = DataCatalog.MaskPathColumn, int inputSize = 256, int evaluationSize = 256)
        => new(new LoadMasksTransformer(outputColumnName, inputColumnName, inputSize, evaluationSize));
}
