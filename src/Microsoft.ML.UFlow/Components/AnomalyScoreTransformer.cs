using Microsoft.ML.UFlow.Flows;

namespace Microsoft.ML.UFlow;

/// <summary>
/// The fitted U-Flow (what <see cref="UFlowTrainer"/> returns): a stock <c>OnnxTransformer</c> over the exported flow
/// graph, which adds <c>AnomalyMap</c> (S×S, METHOD.md A.6), <c>Latents</c> and <c>Latents.Shapes</c> (for the NFA
/// segmentation), and a stateless mapping that adds <c>Score</c> (the map's maximum) and <c>PredictedLabel</c>
/// (score &gt; <see cref="Threshold"/>). Saving writes those stock components; a loaded model has the same outputs.
/// </summary>
/// <remarks>Holds an ONNX Runtime session: dispose it when done (a pipeline's chain does not dispose its members).</remarks>
public sealed class AnomalyScoreTransformer : StockTransformerWrapper
{
    private readonly byte[] _graph;

    internal AnomalyScoreTransformer(ITransformer inner, UFlowConfig config, float threshold, int outputSize, UFlowTrainingSummary summary, byte[] graph)
        : base(inner)
    {
        FlowConfig = config;
        Threshold = threshold;
        OutputSize = outputSize;
        TrainingSummary = summary;
        _graph = graph;
    }

    /// <summary>The flow's architecture (scales, steps, seed).</summary>
    public UFlowConfig FlowConfig { get; }

    /// <summary>The image-score threshold of <c>PredictedLabel</c>: the highest score among the training images.</summary>
    public float Threshold { get; }

    /// <summary>Side S of the anomaly map.</summary>
    public int OutputSize { get; }

    /// <summary>What training did.</summary>
    public UFlowTrainingSummary TrainingSummary { get; }

    /// <summary>The exported flow graph (ONNX bytes, a copy): the flow, its map and score, with the model facts in its
    /// <c>metadata_props</c>.</summary>
    public byte[] GetOnnxModel() => (byte[])_graph.Clone();
}
