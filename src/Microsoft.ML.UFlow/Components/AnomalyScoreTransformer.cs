using Microsoft.ML.UFlow.Flows;


namespace Microsoft.ML.UFlow;

/// <summary>
/// The fitted U-Flow (what <see cref="UFlowTrainer"/> returns): a stock <c>OnnxTransformer</c> over the exported flow
/// graph, which adds <c>AnomalyMap</c> (S×S or the input's aspect, METHOD.md A.6), <c>Latents</c> and <c>Latents.Shapes</c> (for the NFA
/// segmentation), and a stateless mapping that adds <c>Score</c> (the map's maximum) and <c>PredictedLabel</c>
/// (score &gt; <see cref="FlowScoreTransformer.Threshold"/>). Saving writes those stock components; a loaded model has the same outputs.
/// </summary>
/// <remarks>Holds an ONNX Runtime session: dispose it when done (a pipeline's chain does not dispose its members).</remarks>
public sealed class AnomalyScoreTransformer : FlowScoreTransformer
{
    internal AnomalyScoreTransformer(ITransformer inner, UFlowConfig config, float threshold, int outputSize, UFlowTrainingSummary summary, byte[] graph)
        : base(inner, threshold, outputSize, Scoring.MapGrid.For(outputSize, config.Scales.Select(s => (s.Height, s.Width))), summary, graph)
        => FlowConfig = config;

    /// <summary>The flow's architecture (scales, steps, seed).</summary>
    public UFlowConfig FlowConfig { get; }
}
