using System.Globalization;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;
using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>
/// The fitted CS-Flow (what <see cref="CsFlowTrainer"/> returns): from three-scale features it adds <c>AnomalyMap</c>
/// (channel-mean z² of the finest latent, upsampled to S×S, METHOD.md C.4), <c>Score</c> (mean z²/2 over all latent
/// values) and <c>PredictedLabel</c> (score &gt; <see cref="Threshold"/>).
/// </summary>
public sealed class CsFlowScoreTransformer : RowToRowTransformer
{
    internal const string Name = "CsFlowScore";
    private static readonly ComponentVersion s_version = new("UFLOWCSF", 1, 1);
    private readonly CsFlowModel _model;
    // The flow owns per-step buffers, so every transformer sharing it (see WithThreshold) must lock the same object.
    private readonly object _lock;

    internal CsFlowScoreTransformer(CsFlowModel model, string featureColumnName, int outputSize, float threshold)
    {
        _model = model;
        _lock = model;
        FeatureColumnName = featureColumnName;
        OutputSize = outputSize;
        Threshold = threshold;
    }

    /// <summary>The three-scale feature column read.</summary>
    public string FeatureColumnName { get; }

    /// <summary>Side S of the anomaly map.</summary>
    public int OutputSize { get; }

    /// <summary>The score threshold of <c>PredictedLabel</c> (by default the highest training score).</summary>
    public float Threshold { get; }

    /// <summary>Returns a copy with another threshold (the network is shared, read-only).</summary>
    public CsFlowScoreTransformer WithThreshold(float threshold)
    {
        if (float.IsNaN(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), "The threshold must not be NaN.");
        return new CsFlowScoreTransformer(_model, FeatureColumnName, OutputSize, threshold);
    }

    /// <inheritdoc/>
    public override string ComponentName => Name;

    /// <inheritdoc/>
    protected override ComponentVersion Version => s_version;

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaColumn> GetAddedColumns(DataSchema inputSchema)
    {
        inputSchema.Require(FeatureColumnName, ColumnType.FeatureMaps(3), Name);
        return
        [
            new SchemaColumn(UFlowColumns.AnomalyMap, ColumnType.Tensor(OutputSize, OutputSize)),
            new SchemaColumn(UFlowColumns.Score, ColumnType.Single),
            new SchemaColumn(UFlowColumns.PredictedLabel, ColumnType.Boolean),
        ];
    }

    /// <inheritdoc/>
    protected override void MapRow(DataRow input, object?[] outputs)
    {
        var (map, score) = Score(input.Get<Tensor[]>(FeatureColumnName));
        outputs[0] = map;
        outputs[1] = score;
        outputs[2] = score > Threshold;
    }

    internal (Tensor Map, float Score) Score(Tensor[] features)
    {
        var batch = features.Select(f => f.Rank == 3 ? f.Reshape(1, f.Shape[0], f.Shape[1], f.Shape[2]) : f).ToArray();
        var map = new Tensor(OutputSize, OutputSize);
        lock (_lock)
        {
            var (scores, maps) = _model.Score(batch, OutputSize, OutputSize);
            maps.Span.CopyTo(map.Span);
            return (map, (float)scores[0]);
        }
    }

    /// <inheritdoc/>
    protected override void SaveCore(ModelSaveContext context)
    {
        context.WriteJson("settings.json", new Settings
        {
            FeatureColumn = FeatureColumnName,
            OutputSize = OutputSize,
            ThresholdBits = BitConverter.SingleToInt32Bits(Threshold).ToString("X8", CultureInfo.InvariantCulture),
        });
        using var bytes = new MemoryStream();
        _model.Save(bytes);
        context.WriteBytes("csflow.bin", bytes.ToArray());
    }

    internal static CsFlowScoreTransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(Name, s_version);
        var s = context.ReadJson<Settings>("settings.json");
        using var bytes = new MemoryStream(context.ReadBytes("csflow.bin"));
        float threshold = BitConverter.Int32BitsToSingle(int.Parse(s.ThresholdBits, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        CsFlowModel model;
        string entry = $"{context.FilePath}:{context.Folder}csflow.bin";
        try
        {
            model = CsFlowModel.Load(bytes, entry);
        }
        catch (InvalidDataException e)
        {
            throw new ModelFormatException(e.Message, e);
        }
        return new CsFlowScoreTransformer(model, s.FeatureColumn, s.OutputSize, threshold);
    }

    private sealed class Settings
    {
        public string FeatureColumn { get; set; } = "";
        public int OutputSize { get; set; }
        public string ThresholdBits { get; set; } = "";
    }
}
