namespace Microsoft.ML.UFlow;

/// <summary>
/// What the fitted U-Flow and CS-Flow scorers share: a stock <c>OnnxTransformer</c> over the exported flow graph and the
/// stateless score mapping underneath, the threshold set from the training images, the map size, the training summary
/// and the graph itself.
/// </summary>
public abstract class FlowScoreTransformer : StockTransformerWrapper
{
    private readonly byte[] _graph;
    private Onnx.FlowModelFacts? _facts;

    private protected FlowScoreTransformer(ITransformer inner, float threshold, int outputSize, (int Height, int Width) map, UFlowTrainingSummary summary, byte[] graph)
        : base(inner)
    {
        Threshold = threshold;
        OutputSize = outputSize;
        MapHeight = map.Height;
        MapWidth = map.Width;
        TrainingSummary = summary;
        _graph = graph;
    }

    /// <summary>The image-score threshold of <c>PredictedLabel</c>: the highest score among the training images.</summary>
    public float Threshold { get; }

    /// <summary>Side S of the anomaly map (its shorter side when the input is not square; see <see cref="Scoring.MapGrid"/>).</summary>
    public int OutputSize { get; }

    /// <summary>The anomaly map's height (row-major: the <c>AnomalyMap</c> column holds <see cref="MapHeight"/> rows of <see cref="MapWidth"/>).</summary>
    public int MapHeight { get; }

    /// <summary>The anomaly map's width.</summary>
    public int MapWidth { get; }

    /// <summary>What training did.</summary>
    public UFlowTrainingSummary TrainingSummary { get; }

    /// <summary>The exported flow graph (ONNX bytes, a copy), with the model facts in its <c>metadata_props</c>.</summary>
    public byte[] GetOnnxModel() => (byte[])_graph.Clone();

    // Features of another length come from images of another size (or another backbone): say so, with the sizes.
    private protected override void CheckInput(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var facts = _facts ??= Onnx.FlowModelFacts.Read(_graph); // parsed once: GetOutputSchema is called often
        if (facts.InputLayout != Onnx.FlowGraphInputLayout.Concatenated || facts.Inputs.Count != 1) return;
        string name = facts.Inputs[0];
        if (inputSchema.GetColumnOrNull(name)?.Type is not Microsoft.ML.Data.VectorDataViewType { Size: > 0 } vector) return;
        long expected = facts.Scales.Sum(s => (long)s.Channels * s.Height * s.Width);
        if (vector.Size == expected) return;
        string trained = facts.InputWidth is int w && facts.InputHeight is int h ? $" from images of {w}x{h} (W×H)" : "";
        string here = TrainingImageSize.Of(inputSchema) is { } size ? $"; the images here are resized to {size.Width}x{size.Height}" : "";
        throw new ArgumentOutOfRangeException(nameof(inputSchema),
            $"Column '{name}' holds {vector.Size} values per row, but this {facts.Method} model was trained on {expected} " +
            $"({Onnx.FlowGraphParts.FormatShapes(facts.Scales)}, C×H×W){trained}{here}. Resize the images to the training size with the same backbone, or train a model for this size.");
    }
}
