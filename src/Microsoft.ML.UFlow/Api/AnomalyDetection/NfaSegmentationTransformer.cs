using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>
/// The a-contrario segmentation of U-Flow (METHOD.md A.7), the default segmentation: from the latents it adds
/// <c>LogNfa</c> (the −log10 NFA map [S,S]; positive = detected) and <c>SegmentationMask</c> ([S,S], 1 where
/// log10 NFA &lt; log10 ε, ε = 1 false alarm per image by default, else 0). No threshold to tune.
/// </summary>
public sealed class NfaSegmentationTransformer : RowToRowTransformer
{
    internal const string Name = "NfaSegmentation";
    private static readonly ComponentVersion s_version = new("UFLOWNFA", 1, 1);
    private readonly NfaSegmentationOptions _options;
    private readonly NfaSegmenter _segmenter;
    private readonly Lock _lock = new();

    /// <summary>Creates the transformer.</summary>
    /// <param name="options">Segmentation options (copied; null = the official defaults).</param>
    /// <param name="latentsColumnName">The latents column (default <c>Latents</c>).</param>
    public NfaSegmentationTransformer(NfaSegmentationOptions? options = null, string latentsColumnName = UFlowColumns.Latents)
    {
        ArgumentException.ThrowIfNullOrEmpty(latentsColumnName);
        _options = options?.Clone() ?? new NfaSegmentationOptions();
        _options.Validate();
        _segmenter = new NfaSegmenter(_options);
        LatentsColumnName = latentsColumnName;
    }

    /// <summary>The latents column read.</summary>
    public string LatentsColumnName { get; }

    /// <summary>A copy of the options.</summary>
    public NfaSegmentationOptions Options => _options.Clone();

    /// <inheritdoc/>
    public override string ComponentName => Name;

    /// <inheritdoc/>
    protected override ComponentVersion Version => s_version;

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaColumn> GetAddedColumns(DataSchema inputSchema)
    {
        inputSchema.Require(LatentsColumnName, ColumnType.FeatureMaps(1), Name, acceptAnyScaleCount: true);
        int s = _options.OutputSize;
        return [new SchemaColumn(UFlowColumns.LogNfa, ColumnType.Tensor(s, s)), new SchemaColumn(UFlowColumns.SegmentationMask, ColumnType.Tensor(s, s))];
    }

    /// <inheritdoc/>
    protected override void MapRow(DataRow input, object?[] outputs)
    {
        var latents = input.Get<Tensor[]>(LatentsColumnName);
        var scales = new NfaLatentScale[latents.Length];
        for (int l = 0; l < latents.Length; l++)
        {
            var z = latents[l];
            scales[l] = new NfaLatentScale(z.Span.ToArray(), z.Shape[0], z.Shape[1], z.Shape[2]);
        }
        int size = _options.OutputSize;
        var logNfa = new Tensor(size, size);
        var mask = new bool[size * size];
        lock (_lock) _segmenter.Segment(scales, logNfa.Span, mask);
        var maskTensor = new Tensor(size, size);
        var m = maskTensor.Span;
        for (int i = 0; i < mask.Length; i++) m[i] = mask[i] ? 1f : 0f;
        outputs[0] = logNfa;
        outputs[1] = maskTensor;
    }

    /// <inheritdoc/>
    protected override void SaveCore(ModelSaveContext context)
        => context.WriteJson("settings.json", new Settings
        {
            Latents = LatentsColumnName,
            OutputSize = _options.OutputSize,
            Upsampling = _options.Upsampling.ToString(),
            UnderDispersionGuard = _options.UnderDispersionGuard,
            FalseAlarmsPerImage = _options.FalseAlarmsPerImage,
        });

    internal static NfaSegmentationTransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(Name, s_version);
        var s = context.ReadJson<Settings>("settings.json");
        if (!Enum.TryParse<NfaUpsampling>(s.Upsampling, out var upsampling)) throw new ModelFormatException($"'{context.FilePath}', entry '{context.Folder}': unknown NFA upsampling '{s.Upsampling}'.");
        return new NfaSegmentationTransformer(new NfaSegmentationOptions
        {
            OutputSize = s.OutputSize,
            Upsampling = upsampling,
            UnderDispersionGuard = s.UnderDispersionGuard,
            FalseAlarmsPerImage = s.FalseAlarmsPerImage,
        }, s.Latents);
    }

    private sealed class Settings
    {
        public string Latents { get; set; } = "";
        public int OutputSize { get; set; }
        public string Upsampling { get; set; } = "";
        public bool UnderDispersionGuard { get; set; }
        public double FalseAlarmsPerImage { get; set; }
    }
}
