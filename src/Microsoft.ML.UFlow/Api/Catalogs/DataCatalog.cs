using Microsoft.ML.UFlow.Api.Data;

namespace Microsoft.ML.UFlow.Api;

/// <summary>Loading data into data views, and cache checkpoints (ML.NET's <c>DataOperationsCatalog</c>).</summary>
public sealed partial class DataCatalog
{
    internal DataCatalog(UFlowContext context) => Context = context;

    internal UFlowContext Context { get; }

    /// <summary>The column holding image file paths in views made by the loaders.</summary>
    public const string ImagePathColumn = "ImagePath";

    /// <summary>The column holding the anomaly label (true = anomalous) in views made by the loaders.</summary>
    public const string LabelColumn = "Label";

    /// <summary>The column holding the ground-truth mask path ("" when the image has no mask: normal images).</summary>
    public const string MaskPathColumn = "MaskPath";

    /// <summary>The column holding the defect type as the data set names it (<c>good</c> for MVTec AD normals, <c>Free</c> for MTD's).</summary>
    public const string DefectTypeColumn = "DefectType";

    /// <summary>The defect type <see cref="LoadFromImagePaths"/> gives normal images when no types are given.</summary>
    public const string NormalDefectType = "good";

    /// <summary>The defect type <see cref="LoadFromImagePaths"/> gives anomalous images when no types are given.</summary>
    public const string AnomalousDefectType = "anomalous";

    /// <summary>A view over in-memory rows with the given schema (values are checked against the column types).</summary>
    public IDataView LoadFromRows(DataSchema schema, IEnumerable<object?[]> rows) => new InMemoryDataView(schema, rows);

    /// <summary>
    /// A view of image paths with labels (false = normal), optional mask paths and optional defect types: the loaders'
    /// standard schema. Without types, normal images are <see cref="NormalDefectType"/> and anomalous ones
    /// <see cref="AnomalousDefectType"/>.
    /// </summary>
    public IDataView LoadFromImagePaths(IEnumerable<string> imagePaths, IEnumerable<bool>? labels = null, IEnumerable<string?>? maskPaths = null, IEnumerable<string>? defectTypes = null)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        var paths = imagePaths.ToArray();
        var lab = labels?.ToArray() ?? new bool[paths.Length];
        var masks = maskPaths?.ToArray() ?? new string?[paths.Length];
        var types = defectTypes?.ToArray() ?? lab.Select(a => a ? AnomalousDefectType : NormalDefectType).ToArray();
        if (lab.Length != paths.Length || masks.Length != paths.Length || types.Length != paths.Length)
        {
            throw new ArgumentException("imagePaths, labels, maskPaths and defectTypes must have the same length.");
        }
        return new InMemoryDataView(StandardSchema, paths.Select((p, i) => new object?[] { p, lab[i], masks[i] ?? "", types[i] }));
    }

    /// <summary>
    /// The schema of views made by the loaders: <c>ImagePath</c> (Text), <c>Label</c> (Boolean), <c>MaskPath</c> (Text),
    /// <c>DefectType</c> (Text).
    /// </summary>
    public static DataSchema StandardSchema { get; } = new([
        new SchemaColumn(ImagePathColumn, ColumnType.Text),
        new SchemaColumn(LabelColumn, ColumnType.Boolean),
        new SchemaColumn(MaskPathColumn, ColumnType.Text),
        new SchemaColumn(DefectTypeColumn, ColumnType.Text),
    ]);

    /// <summary>
    /// Reads every row of <paramref name="input"/> once and keeps them in memory (ML.NET's <c>AppendCacheCheckpoint</c>),
    /// so that later passes do not recompute upstream transforms (image decoding, featurizing).
    /// </summary>
    /// <param name="input">The view to materialise.</param>
    /// <param name="progress">Receives (rows done, total rows or -1) after each row.</param>
    public IDataView Cache(IDataView input, IProgress<(int Done, int Total)>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        int total = (int)(input.GetRowCount() ?? -1);
        var rows = new List<DataRow>();
        foreach (var row in input.GetRows())
        {
            rows.Add(row);
            progress?.Report((rows.Count, total));
        }
        return new InMemoryDataView(input.Schema, rows.ToArray());
    }
}
