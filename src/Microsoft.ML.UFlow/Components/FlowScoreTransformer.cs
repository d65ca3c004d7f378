namespace Microsoft.ML.UFlow;

/// <summary>
/// What the fitted U-Flow and CS-Flow scorers share: a stock <c>OnnxTransformer</c> over the exported flow graph and the
/// stateless score mapping underneath, the threshold set from the training images, the map size, the training summary
/// and the graph itself.
/// </summary>
public abstract class FlowScoreTransformer : StockTransformerWrapper
{
    private readonly byte[] _graph;

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
}
