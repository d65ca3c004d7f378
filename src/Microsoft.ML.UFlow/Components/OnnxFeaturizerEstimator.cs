using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.UFlow.Onnx;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Extracts multi-scale feature maps of an ImageNet backbone from an image column: ML.NET's <c>ExtractPixels</c> and a
/// stock <c>OnnxTransformer</c> over the backbone prepared by <see cref="BackboneGraph"/> (ImageNet normalisation folded
/// in, the chosen outputs flattened and concatenated finest first).
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Estimator Characteristics</term><description></description></listheader>
/// <item><term>Does this estimator need to look at the data to train its parameters?</term><description>No (it reads the
/// image size from the column type: apply <c>ResizeImages</c> first)</description></item>
/// <item><term>Input column data type</term><description><c>MLImage</c> of known size</description></item>
/// <item><term>Output column data type</term><description>Vector of Single (Σ C·H·W), plus <c>{output}.Shapes</c>
/// (Vector of Single, C, H, W of each map)</description></item>
/// <item><term>Required NuGet in addition to Microsoft.ML</term><description>Microsoft.ML.OnnxTransformer, and
/// Microsoft.ML.OnnxRuntime (CPU) or Microsoft.ML.OnnxRuntime.Gpu</description></item>
/// <item><term>Exportable to ONNX</term><description>No</description></item>
/// </list>
/// Only apply models from trusted sources.
/// </remarks>
public sealed class OnnxFeaturizerEstimator : IEstimator<OnnxFeaturizerTransformer>
{
    private readonly TransformsCatalog _catalog;
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly Func<string, int, int, PreparedBackbone> _prepare;
    private readonly int? _gpuDeviceId;
    private readonly bool _fallbackToCpu;

    /// <param name="catalog">Where the stock components come from.</param>
    /// <param name="outputColumnName">The features column.</param>
    /// <param name="inputColumnName">The image column.</param>
    /// <param name="prepare">Builds the graph for (pixel input name, height, width).</param>
    /// <param name="gpuDeviceId">The GPU, or null for the CPU.</param>
    /// <param name="fallbackToCpu">Fall back to the CPU when the GPU cannot be used.</param>
    internal OnnxFeaturizerEstimator(TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        Func<string, int, int, PreparedBackbone> prepare, int? gpuDeviceId, bool fallbackToCpu)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        _catalog = catalog;
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
        _prepare = prepare;
        _gpuDeviceId = gpuDeviceId;
        _fallbackToCpu = fallbackToCpu;
    }

    /// <summary>Reads a model file, with the file named when it is missing.</summary>
    internal static byte[] ReadModel(string modelFile)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelFile);
        if (!File.Exists(modelFile)) throw new FileNotFoundException($"The model '{modelFile}' does not exist.", modelFile);
        return File.ReadAllBytes(modelFile);
    }

    /// <summary>Prepares the backbone for the input column's image size and returns the featurizer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The input column is missing, not an image, or of unknown size.</exception>
    /// <exception cref="ArgumentException">The backbone is not an image model or lacks a chosen output.</exception>
    public OnnxFeaturizerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        (int height, int width) = ImageSize(input.Schema, _inputColumnName);
        string pixels = _outputColumnName + ".Pixels";
        PreparedBackbone prepared = _prepare(pixels, height, width);
        var estimator = _catalog.ExtractPixels(pixels, _inputColumnName, ImagePixelExtractingEstimator.ColorBits.Rgb,
                orderOfExtraction: ImagePixelExtractingEstimator.ColorsOrder.ARGB, interleavePixelColors: false)
            .Append(_catalog.ApplyOnnxModel([_outputColumnName, _outputColumnName + AnomalyColumns.ShapesSuffix], [pixels],
                new MemoryStream(prepared.Model), _gpuDeviceId, _fallbackToCpu))
            .Append(_catalog.DropColumns(pixels));
        return new OnnxFeaturizerTransformer(estimator.Fit(input), prepared.Scales, height, width);
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var column = SchemaShapes.Find(inputSchema, _inputColumnName)
            ?? throw SchemaErrors.Missing(_inputColumnName, "an image (LoadImages, then ResizeImages)");
        if (column.ItemType is not ImageDataViewType)
            throw SchemaErrors.Mismatch(_inputColumnName, "an image (LoadImages, then ResizeImages)", column.ItemType.ToString() ?? "?");
        var columns = inputSchema.ToDictionary(c => c.Name);
        columns[_outputColumnName] = SchemaShapes.FloatVector(_outputColumnName);
        columns[_outputColumnName + AnomalyColumns.ShapesSuffix] = SchemaShapes.FloatVector(_outputColumnName + AnomalyColumns.ShapesSuffix);
        return new SchemaShape(columns.Values);
    }

    internal static (int Height, int Width) ImageSize(DataViewSchema schema, string column)
    {
        var col = schema.GetColumnOrNull(column) ?? throw SchemaErrors.Missing(column, "an image (LoadImages, then ResizeImages)");
        if (col.Type is not ImageDataViewType image)
            throw SchemaErrors.Mismatch(column, "an image (LoadImages, then ResizeImages)", col.Type.ToString() ?? "?");
        if (image.Height <= 0 || image.Width <= 0)
            throw SchemaErrors.Mismatch(column, "an image of known size (apply ResizeImages first)", "an image of unknown size");
        return (image.Height, image.Width);
    }
}

/// <summary>
/// A fitted <see cref="OnnxFeaturizerEstimator"/>: ML.NET's <c>ExtractPixels</c> then a stock <c>OnnxTransformer</c>;
/// saved as those.
/// </summary>
public sealed class OnnxFeaturizerTransformer : StockTransformerWrapper
{
    internal OnnxFeaturizerTransformer(ITransformer inner, IReadOnlyList<(int Channels, int Height, int Width)> scales, int height, int width)
        : base(inner)
    {
        Scales = scales;
        InputHeight = height;
        InputWidth = width;
    }

    /// <summary>(C, H, W) of each feature map, finest first.</summary>
    public IReadOnlyList<(int Channels, int Height, int Width)> Scales { get; }

    /// <summary>The image height the backbone was prepared for.</summary>
    public int InputHeight { get; }

    /// <summary>The image width the backbone was prepared for.</summary>
    public int InputWidth { get; }
}
