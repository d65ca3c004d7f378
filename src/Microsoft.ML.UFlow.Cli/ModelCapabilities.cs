using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Data;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>The kinds of model 'uflow train' fits.</summary>
internal enum ModelKind
{
    /// <summary>U-Flow: image score, likelihood anomaly map and the a-contrario NFA segmentation.</summary>
    UFlow,

    /// <summary>CS-Flow: image score and the localisation map of its finest latent (METHOD.md C.4); no NFA.</summary>
    CsFlow,
}

/// <summary>
/// What a loaded model can produce, read from its components and its output schema (never from the file name), so that
/// eval, predict and the report show the metrics and pictures the model has and say which ones it lacks.
/// </summary>
internal sealed class ModelCapabilities
{
    private ModelCapabilities(ModelKind kind, float threshold, int mapSize, bool hasNfa)
    {
        Kind = kind;
        Threshold = threshold;
        MapSize = mapSize;
        HasNfa = hasNfa;
    }

    /// <summary>The model kind, from its score component.</summary>
    public ModelKind Kind { get; }

    /// <summary>"U-Flow" or "CS-Flow".</summary>
    public string DisplayName => Kind == ModelKind.CsFlow ? "CS-Flow" : "U-Flow";

    /// <summary>The score threshold of <c>PredictedLabel</c> (by default the highest training score).</summary>
    public float Threshold { get; }

    /// <summary>Side of the square <c>AnomalyMap</c>.</summary>
    public int MapSize { get; }

    /// <summary>Whether the model writes <c>LogNfa</c> and <c>SegmentationMask</c> (the a-contrario segmentation).</summary>
    public bool HasNfa { get; }

    /// <summary>The line printed where NFA results would stand.</summary>
    public string NfaUnavailableLine
        => $"NFA segmentation (mIoU at log NFA < 0, false-alarm images, masks): not available for {DisplayName} models " +
           $"(they give an image score and a localisation map, no {UFlowColumns.LogNfa} column).";

    /// <summary>
    /// The top of the heat-map colour range (0 is the bottom). U-Flow's map is a likelihood in [0, 1]. CS-Flow's map is
    /// the channel-mean z² of the finest latent, about twice the image score (mean z²/2) on average, so the range
    /// [0, 4 × threshold] puts the training images' levels at or below its middle; the same range for every image keeps
    /// pictures comparable. Null (each picture uses its own maximum) when the threshold is not a positive finite number.
    /// </summary>
    public float? HeatMapMax => Kind == ModelKind.UFlow ? 1f : float.IsFinite(Threshold) && Threshold > 0 ? 4f * Threshold : null;

    /// <summary>Inspects a loaded pipeline.</summary>
    /// <exception cref="ArgumentException">The pipeline has no U-Flow or CS-Flow scorer, or lacks the columns eval and predict need.</exception>
    public static ModelCapabilities Of(ITransformer model, DataSchema inputSchema, string modelFile)
    {
        ArgumentNullException.ThrowIfNull(model);
        var components = model is IEnumerable<ITransformer> chain ? chain.ToList() : [model];
        var uflow = components.OfType<AnomalyScoreTransformer>().LastOrDefault();
        var csflow = components.OfType<CsFlowScoreTransformer>().LastOrDefault();
        if (uflow is null && csflow is null)
        {
            throw new ArgumentException($"'{modelFile}' holds neither a U-Flow nor a CS-Flow scorer (components: {string.Join(", ", components.Select(c => c.GetType().Name))}); train it with 'uflow train'.");
        }
        var schema = model.GetOutputSchema(inputSchema);
        foreach (string column in new[] { UFlowColumns.Image, UFlowColumns.Score, UFlowColumns.PredictedLabel, UFlowColumns.AnomalyMap })
        {
            if (!schema.TryGet(column, out _)) throw new ArgumentException($"'{modelFile}' does not produce the column '{column}' (output schema {schema}).");
        }
        bool hasNfa = schema.TryGet(UFlowColumns.LogNfa, out _) && schema.TryGet(UFlowColumns.SegmentationMask, out _);
        return csflow is not null && (uflow is null || components.IndexOf(csflow) > components.IndexOf(uflow))
            ? new ModelCapabilities(ModelKind.CsFlow, csflow.Threshold, csflow.OutputSize, hasNfa)
            : new ModelCapabilities(ModelKind.UFlow, uflow!.Threshold, uflow.OutputSize, hasNfa);
    }
}
