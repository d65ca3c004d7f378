using System.Globalization;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>
/// The fitted U-Flow (what <see cref="UFlowTrainer"/> returns): runs the flow on the feature maps and adds
/// <c>Latents</c> (one [C,H,W] map per scale), <c>AnomalyMap</c> ([S,S], METHOD.md A.6), <c>Score</c> (its max) and
/// <c>PredictedLabel</c> (score &gt; <see cref="Threshold"/>). The NFA segmentation is a separate transformer on the latents.
/// </summary>
public sealed class AnomalyScoreTransformer : RowToRowTransformer
{
    internal const string Name = "UFlowAnomalyScore";
    private static readonly ComponentVersion s_version = new("UFLOWSCR", 1, 1);
    private readonly UShapedFlow _flow;
    // The flow owns per-step buffers, so every transformer sharing it (see WithThreshold) must lock the same object.
    private readonly object _lock;
    private Tensor? _mapBuffer;

    internal AnomalyScoreTransformer(UShapedFlow flow, string featureColumnName, int outputSize, float threshold, UFlowTrainingSummary summary)
    {
        _flow = flow;
        _lock = flow;
        FeatureColumnName = featureColumnName;
        OutputSize = outputSize;
        Threshold = threshold;
        TrainingSummary = summary;
    }

    /// <summary>The feature-maps column read.</summary>
    public string FeatureColumnName { get; }

    /// <summary>Side S of the anomaly map (256 as the paper's evaluation).</summary>
    public int OutputSize { get; }

    /// <summary>The image-score threshold of <c>PredictedLabel</c> (by default the highest score among the training images).</summary>
    public float Threshold { get; }

    /// <summary>What training did (epochs, loss, times).</summary>
    public UFlowTrainingSummary TrainingSummary { get; }

    /// <summary>The flow configuration (scales, steps, seed).</summary>
    public UFlowConfig FlowConfig => _flow.Config;

    /// <summary>Returns a copy of this transformer with another score threshold (the flow is shared; scoring through either copy is serialised on it).</summary>
    public AnomalyScoreTransformer WithThreshold(float threshold)
    {
        if (float.IsNaN(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), "The threshold must not be NaN.");
        return new AnomalyScoreTransformer(_flow, FeatureColumnName, OutputSize, threshold, TrainingSummary);
    }

    /// <inheritdoc/>
    public override string ComponentName => Name;

    /// <inheritdoc/>
    protected override ComponentVersion Version => s_version;

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaColumn> GetAddedColumns(DataSchema inputSchema)
    {
        int scales = _flow.Config.Scales.Count;
        inputSchema.Require(FeatureColumnName, ColumnType.FeatureMaps(scales), Name);
        return
        [
            new SchemaColumn(UFlowColumns.Latents, ColumnType.FeatureMaps(scales)),
            new SchemaColumn(UFlowColumns.AnomalyMap, ColumnType.Tensor(OutputSize, OutputSize)),
            new SchemaColumn(UFlowColumns.Score, ColumnType.Single),
            new SchemaColumn(UFlowColumns.PredictedLabel, ColumnType.Boolean),
        ];
    }

    /// <inheritdoc/>
    protected override void MapRow(DataRow input, object?[] outputs)
    {
        var (latents, map, score) = Score(input.Get<Tensor[]>(FeatureColumnName));
        outputs[0] = latents;
        outputs[1] = map;
        outputs[2] = score;
        outputs[3] = score > Threshold;
    }

    /// <summary>
    /// Runs the flow on one image's [C,H,W] maps; returns copies of the latents ([C,H,W], finest first), the anomaly map
    /// [S,S] (Scoring layer, METHOD.md A.6) and the image score (its max).
    /// </summary>
    internal (Tensor[] Latents, Tensor Map, float Score) Score(Tensor[] features)
    {
        var scales = _flow.Config.Scales;
        if (features.Length != scales.Count) throw new ArgumentException($"{Name}: expected {scales.Count} feature maps in '{FeatureColumnName}', got {features.Length}.");
        var batch = new Tensor[features.Length];
        for (int l = 0; l < features.Length; l++)
        {
            var f = features[l];
            var s = scales[l];
            if (f.Rank != 3 || f.Shape[0] != s.Channels || f.Shape[1] != s.Height || f.Shape[2] != s.Width)
            {
                throw new ArgumentException($"{Name}: feature map {l} of column '{FeatureColumnName}' is {f} but the flow was trained on [{s.Channels}, {s.Height}, {s.Width}] (same backbone, layers and input size are needed).");
            }
            batch[l] = f.Reshape(1, s.Channels, s.Height, s.Width);
        }
        var map = new Tensor(OutputSize, OutputSize);
        lock (_lock)
        {
            var output = _flow.Forward(batch);
            var latents = new Tensor[output.Latents.Count];
            for (int l = 0; l < latents.Length; l++)
            {
                var z = output.Latents[l];
                latents[l] = new Tensor(z.C, z.H, z.W);
                z.Sample(0).CopyTo(latents[l].Span);
            }
            _mapBuffer = Scoring.AnomalyMap.Compute(output.Latents, OutputSize, OutputSize, _mapBuffer);
            _mapBuffer.Span.CopyTo(map.Span);
            return (latents, map, TensorPrimitives.Max(map.Span));
        }
    }

    /// <inheritdoc/>
    protected override void SaveCore(ModelSaveContext context)
    {
        context.WriteJson("settings.json", new Settings
        {
            FeatureColumn = FeatureColumnName,
            OutputSize = OutputSize,
            Threshold = Threshold,
            ThresholdBits = BitConverter.SingleToInt32Bits(Threshold).ToString("X8", CultureInfo.InvariantCulture),
            Summary = TrainingSummary,
        });
        using var flowBytes = new MemoryStream();
        UShapedFlowSerializer.Save(_flow, flowBytes);
        context.WriteBytes("flow.bin", flowBytes.ToArray());
    }

    internal static AnomalyScoreTransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(Name, s_version);
        var s = context.ReadJson<Settings>("settings.json");
        float threshold = BitConverter.Int32BitsToSingle(int.Parse(s.ThresholdBits, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        using var flowBytes = new MemoryStream(context.ReadBytes("flow.bin"));
        UShapedFlow flow;
        try
        {
            flow = UShapedFlowSerializer.Load(flowBytes, $"{context.FilePath}:{context.Folder}flow.bin");
        }
        catch (InvalidDataException e)
        {
            throw new ModelFormatException(e.Message, e); // the message names the file and the entry
        }
        return new AnomalyScoreTransformer(flow, s.FeatureColumn, s.OutputSize, threshold, s.Summary!);
    }

    private sealed class Settings
    {
        public string FeatureColumn { get; set; } = "";
        public int OutputSize { get; set; }
        public float Threshold { get; set; }
        public string ThresholdBits { get; set; } = "";
        public UFlowTrainingSummary? Summary { get; set; }
    }
}
