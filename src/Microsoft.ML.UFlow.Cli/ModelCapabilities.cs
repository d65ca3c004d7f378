using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.UFlow.Onnx;

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
/// What a loaded model can produce, read from the facts its flow graph carries (<see cref="UFlowModelInfo"/>) and from its
/// output schema (never from the file name or the transformers' types: a loaded model is stock ML.NET components), so
/// that eval, predict and the report show the metrics and pictures the model has and say which ones it lacks.
/// </summary>
internal sealed class ModelCapabilities
{
    private ModelCapabilities(ModelKind kind, float threshold, int mapSize, int mapWidth, int mapHeight, int inputWidth, int inputHeight, bool hasNfa, ImageTiling? tiling)
    {
        Kind = kind;
        Threshold = threshold;
        MapSize = mapSize;
        MapHeight = mapHeight;
        MapWidth = mapWidth;
        InputWidth = inputWidth;
        InputHeight = inputHeight;
        HasNfa = hasNfa;
        Tiling = tiling;
    }

    /// <summary>The tiles the model was trained on (it scores one tile; eval and predict stitch whole images), or null.</summary>
    public ImageTiling? Tiling { get; }

    /// <summary>
    /// The capabilities as seen on a whole image of <paramref name="width"/>×<paramref name="height"/> stitched from tiles:
    /// input and maps at the image's full resolution, so that reports and metrics use that grid.
    /// </summary>
    public ModelCapabilities ForImage(int width, int height)
        => new(Kind, Threshold, Math.Min(width, height), width, height, width, height, HasNfa, Tiling);

    /// <summary>The model kind, from its flow graph's method.</summary>
    public ModelKind Kind { get; }

    /// <summary>"U-Flow" or "CS-Flow".</summary>
    public string DisplayName => Kind == ModelKind.CsFlow ? "CS-Flow" : "U-Flow";

    /// <summary>The score threshold of <c>PredictedLabel</c> (by default the highest training score).</summary>
    public float Threshold { get; }

    /// <summary>The map side S (<see cref="Scoring.MapGrid"/>: S×S for a square input, else the shorter side).</summary>
    public int MapSize { get; }

    /// <summary>The <c>AnomalyMap</c>'s height.</summary>
    public int MapHeight { get; }

    /// <summary>The <c>AnomalyMap</c>'s width.</summary>
    public int MapWidth { get; }

    /// <summary>The width the model's pipeline resizes images to (its <c>Image</c> column).</summary>
    public int InputWidth { get; }

    /// <summary>The height the model's pipeline resizes images to.</summary>
    public int InputHeight { get; }

    /// <summary>"W×H" of the map, e.g. <c>320x256</c>.</summary>
    public string MapText => $"{MapWidth}x{MapHeight}";

    /// <summary>Whether the model writes <c>LogNfa</c> and <c>SegmentationMask</c> (the a-contrario segmentation).</summary>
    public bool HasNfa { get; }

    /// <summary>The line printed where NFA results would stand.</summary>
    public string NfaUnavailableLine
        => $"NFA segmentation (mIoU at log NFA < 0, false-alarm images, masks): not available for {DisplayName} models " +
           $"(they give an image score and a localisation map, no {AnomalyColumns.LogNfa} column).";

    /// <summary>
    /// The top of the heat-map colour range (0 is the bottom). U-Flow's map is a likelihood in [0, 1]. CS-Flow's map is
    /// the channel-mean z² of the finest latent, about twice the image score (mean z²/2) on average, so the range
    /// [0, 4 × threshold] puts the training images' levels at or below its middle; the same range for every image keeps
    /// pictures comparable. Null (each picture uses its own maximum) when the threshold is not a positive finite number.
    /// </summary>
    public float? HeatMapMax => Kind == ModelKind.UFlow ? 1f : float.IsFinite(Threshold) && Threshold > 0 ? 4f * Threshold : null;

    /// <summary>Inspects a loaded pipeline: the facts of its flow graph in <paramref name="modelFile"/>, and its output schema.</summary>
    /// <exception cref="InvalidDataException">The file holds no U-Flow or CS-Flow graph.</exception>
    /// <exception cref="ArgumentException">The pipeline does not take an <c>ImagePath</c> column or lacks the columns eval and predict need.</exception>
    public static ModelCapabilities Of(ITransformer model, DataViewSchema inputSchema, string modelFile)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        FlowModelFacts facts = UFlowModelInfo.Read(modelFile);
        if (inputSchema.GetColumnOrNull(AnomalyColumns.ImagePath) is not { Type: TextDataViewType })
        {
            throw new ArgumentException($"'{modelFile}' does not take a text column '{AnomalyColumns.ImagePath}' (its input columns: {Describe(inputSchema)}); train it with 'uflow train'.");
        }
        var schema = model.GetOutputSchema(inputSchema);
        foreach (string column in new[] { AnomalyColumns.Image, AnomalyColumns.Score, AnomalyColumns.PredictedLabel, AnomalyColumns.AnomalyMap })
        {
            if (schema.GetColumnOrNull(column) is null) throw new ArgumentException($"'{modelFile}' does not produce the column '{column}' (its output columns: {Describe(schema)}).");
        }
        if (schema[AnomalyColumns.Image].Type is not ImageDataViewType { Height: > 0, Width: > 0 } image)
        {
            throw new ArgumentException($"'{modelFile}' does not resize its images to a known size ('{AnomalyColumns.Image}' is {schema[AnomalyColumns.Image].Type}).");
        }
        bool hasNfa = schema.GetColumnOrNull(AnomalyColumns.LogNfa) is not null && schema.GetColumnOrNull(AnomalyColumns.SegmentationMask) is not null;
        var kind = facts.Method == FlowModelFacts.CsFlowMethod ? ModelKind.CsFlow : ModelKind.UFlow;
        return new ModelCapabilities(kind, facts.Threshold ?? float.PositiveInfinity, facts.MapSize, facts.MapWidth, facts.MapHeight, image.Width, image.Height, hasNfa, facts.Tiling);
    }

    private static string Describe(DataViewSchema schema) => string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name));
}
