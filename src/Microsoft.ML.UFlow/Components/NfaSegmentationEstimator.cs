using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow;

/// <summary>
/// The automatic a-contrario segmentation of U-Flow (METHOD.md A.7): from the latents of every scale, the tree NFA gives
/// −log10 NFA per pixel and the mask log10 NFA &lt; log10 ε (ε = 1 by default: about one false detection per image under
/// the normal hypothesis, no threshold to tune).
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Estimator Characteristics</term><description></description></listheader>
/// <item><term>Does this estimator need to look at the data to train its parameters?</term><description>No</description></item>
/// <item><term>Input column data type</term><description><c>Latents</c>, <c>Latents.Shapes</c> (vectors of Single, from
/// <c>UFlow()</c>)</description></item>
/// <item><term>Output column data type</term><description><c>LogNfa</c> (vector of Single, S×S or the input's aspect), <c>SegmentationMask</c>
/// (vector of Boolean, the same grid)</description></item>
/// <item><term>Required NuGet in addition to Microsoft.ML</term><description>Microsoft.ML.UFlow, Microsoft.ML.OnnxTransformer</description></item>
/// <item><term>Exportable to ONNX</term><description>No</description></item>
/// </list>
/// Saved as two stock components: an <c>OnnxTransformer</c> whose constant output carries the settings, and a
/// <c>CustomMapping</c> with the contract name <see cref="NfaSegmentationMapping.ContractName"/>. The automatic threshold is
/// meaningful for a calibrated flow only (METHOD.md A.7.8).
/// </remarks>
public sealed class NfaSegmentationEstimator : IEstimator<NfaSegmentationTransformer>
{
    private readonly TransformsCatalog _catalog;
    private readonly NfaSegmentationOptions _options;

    internal NfaSegmentationEstimator(TransformsCatalog catalog, NfaSegmentationOptions? options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _catalog = catalog;
        _options = options?.Clone() ?? new NfaSegmentationOptions();
        _options.Validate();
    }

    /// <inheritdoc/>
    public NfaSegmentationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        string shapes = AnomalyColumns.Latents + AnomalyColumns.ShapesSuffix;
        RequireVector(input.Schema, AnomalyColumns.Latents);
        int shapeLength = RequireVector(input.Schema, shapes);
        var settings = NfaSegmentationSettings.From(_options);
        byte[] graph = ConstantColumnGraph.Build(shapes, shapeLength, NfaSegmentationSettings.ColumnName, settings.ToVector());
        var estimator = _catalog.ApplyOnnxModel([NfaSegmentationSettings.ColumnName], [shapes], new MemoryStream(graph))
            .Append(_catalog.CustomMapping(new NfaSegmentationMapping().GetMapping(), NfaSegmentationMapping.ContractName));
        return new NfaSegmentationTransformer(estimator.Fit(input), _options.Clone());
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        foreach (string name in new[] { AnomalyColumns.Latents, AnomalyColumns.Latents + AnomalyColumns.ShapesSuffix })
        {
            var column = SchemaShapes.Find(inputSchema, name) ?? throw SchemaErrors.Missing(name, "the latents of UFlow()");
            if (column.Kind == SchemaShape.Column.VectorKind.Scalar || column.ItemType != NumberDataViewType.Single)
                throw SchemaErrors.Mismatch(name, "a vector of Single", column.ItemType?.ToString() ?? "?");
        }
        var columns = inputSchema.ToDictionary(c => c.Name);
        columns[NfaSegmentationSettings.ColumnName] = SchemaShapes.FloatVector(NfaSegmentationSettings.ColumnName);
        columns[AnomalyColumns.LogNfa] = SchemaShapes.FloatVector(AnomalyColumns.LogNfa);
        columns[AnomalyColumns.SegmentationMask] = SchemaShapes.BooleanVector(AnomalyColumns.SegmentationMask);
        return new SchemaShape(columns.Values);
    }

    private static int RequireVector(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name) ?? throw SchemaErrors.Missing(name, "the latents of UFlow()");
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType n } vector || n != NumberDataViewType.Single || vector.Size == 0)
            throw SchemaErrors.Mismatch(name, "a vector of Single of known size", column.Type.ToString() ?? "?");
        return vector.Size;
    }
}

/// <summary>A fitted <see cref="NfaSegmentationEstimator"/>; saved as stock components.</summary>
public sealed class NfaSegmentationTransformer : StockTransformerWrapper
{
    private readonly NfaSegmentationOptions _options;

    internal NfaSegmentationTransformer(ITransformer inner, NfaSegmentationOptions options) : base(inner) => _options = options;

    /// <summary>The segmentation's settings (a copy).</summary>
    public NfaSegmentationOptions Options => _options.Clone();
}
