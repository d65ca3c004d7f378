using Google.Protobuf;
using Onnx;

namespace Microsoft.ML.UFlow.Onnx;

/// <summary>
/// Turns an exported flow graph into the graph an ML.NET pipeline runs: the per-scale latents flattened and concatenated
/// into one output with a constant shapes output (what the NFA segmentation reads), the image score renamed to
/// <see cref="RawScore"/> beside a constant <see cref="Threshold"/> output (ML.NET makes every ONNX output a vector; a
/// stateless mapping turns the two into the scalar <c>Score</c> and <c>PredictedLabel</c>), and only the outputs that
/// the pipeline uses.
/// </summary>
public static class ScorerGraph
{
    /// <summary>
    /// The latents of every scale, flattened and concatenated finest first, [N, Σ C·H·W]; each scale multiplied by its
    /// calibration factor when <see cref="Build"/> was given factors.
    /// </summary>
    public const string Latents = "Latents";

    /// <summary>C, H, W of each latent scale, float32 [3·L] (constant).</summary>
    public const string LatentShapes = "Latents.Shapes";

    /// <summary>The image score, [N].</summary>
    public const string RawScore = "Score.Raw";

    /// <summary>The model's threshold, float32 [1] (constant).</summary>
    public const string Threshold = "Score.Threshold";

    /// <summary>The anomaly map, [N, S, S].</summary>
    public const string AnomalyMap = FlowGraphNames.AnomalyMap;

    /// <summary>
    /// Rewrites <paramref name="flowGraph"/> (from <see cref="UFlowOnnxExporter"/> or <see cref="CsFlowOnnxExporter"/>)
    /// with the outputs <see cref="AnomalyMap"/>, <see cref="RawScore"/>, <see cref="Threshold"/> and, when
    /// <paramref name="latentShapes"/> is given, <see cref="Latents"/> and <see cref="LatentShapes"/>.
    /// </summary>
    /// <param name="flowGraph">The exported flow graph.</param>
    /// <param name="latentShapes">(C, H, W) of the graph's outputs <c>Latent0</c>, <c>Latent1</c>, …; null to drop the latents.</param>
    /// <param name="threshold">The image-score threshold (+∞: nothing is flagged).</param>
    /// <param name="latentFactors">Null, or one positive factor per latent scale that multiplies that scale in
    /// <see cref="Latents"/> (the NFA's calibration, 1/√s_l); the anomaly map and the score are computed before it.</param>
    public static byte[] Build(byte[] flowGraph, IReadOnlyList<(int Channels, int Height, int Width)>? latentShapes, float threshold, IReadOnlyList<float>? latentFactors = null)
    {
        if (latentFactors is not null && (latentShapes is null || latentFactors.Count != latentShapes.Count || latentFactors.Any(f => !(f > 0) || !float.IsFinite(f))))
            throw new ArgumentException("The latent factors must be positive and finite, one per latent scale.", nameof(latentFactors));
        ArgumentNullException.ThrowIfNull(flowGraph);
        if (float.IsNaN(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), "The threshold must not be NaN.");
        ModelProto model = ModelProto.Parser.ParseFrom(flowGraph);
        GraphProto graph = model.Graph;
        var outputs = graph.Output.ToDictionary(o => o.Name);
        if (!outputs.ContainsKey(FlowGraphNames.Score) || !outputs.ContainsKey(AnomalyMap))
            throw new ArgumentException($"The flow graph has no '{FlowGraphNames.Score}' or '{AnomalyMap}' output.", nameof(flowGraph));
        var newOutputs = new List<ValueInfoProto> { outputs[AnomalyMap] };

        graph.Node.Add(OnnxNodes.Node("Identity", [FlowGraphNames.Score], [RawScore]));
        newOutputs.Add(OnnxNodes.FloatValue(RawScore, [-1]));
        graph.Node.Add(OnnxNodes.Node("Constant", [], [Threshold],
            OnnxAttributes.Tensor("value", OnnxTensors.Float("scorer_threshold", [1], [threshold]))));
        newOutputs.Add(OnnxNodes.FloatValue(Threshold, [1]));

        if (latentShapes is not null)
        {
            graph.Initializer.Add(OnnxTensors.Int64("scorer_flat", [2], [0, -1]));
            var flats = new List<string>();
            for (int l = 0; l < latentShapes.Count; l++)
            {
                string latent = FlowGraphNames.Latent(l);
                if (!outputs.ContainsKey(latent))
                    throw new ArgumentException($"The flow graph has no output '{latent}' for latent scale {l}.", nameof(latentShapes));
                string flat = $"scorer_flat_{latent}";
                if (latentFactors is not null)
                {
                    string factor = $"scorer_factor_{latent}", scaled = $"scorer_scaled_{latent}";
                    graph.Initializer.Add(OnnxTensors.Float(factor, [], [latentFactors[l]]));
                    graph.Node.Add(OnnxNodes.Node("Mul", [latent, factor], [scaled]));
                    latent = scaled;
                }
                graph.Node.Add(OnnxNodes.Node("Reshape", [latent, "scorer_flat"], [flat]));
                flats.Add(flat);
            }
            graph.Node.Add(OnnxNodes.Node("Concat", flats, [Latents], OnnxAttributes.Int("axis", 1)));
            long total = latentShapes.Sum(s => (long)s.Channels * s.Height * s.Width);
            newOutputs.Add(OnnxNodes.FloatValue(Latents, [-1, total]));
            float[] shapes = latentShapes.SelectMany(s => new float[] { s.Channels, s.Height, s.Width }).ToArray();
            graph.Node.Add(OnnxNodes.Node("Constant", [], [LatentShapes],
                OnnxAttributes.Tensor("value", OnnxTensors.Float("scorer_latent_shapes", [shapes.Length], shapes))));
            newOutputs.Add(OnnxNodes.FloatValue(LatentShapes, [shapes.Length]));
        }
        graph.Output.Clear();
        graph.Output.Add(newOutputs);
        return model.ToByteArray();
    }
}
