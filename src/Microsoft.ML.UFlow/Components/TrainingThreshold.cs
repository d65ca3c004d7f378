using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow;

/// <summary>
/// A model's default threshold: the highest score among its training images (no training image is flagged), computed
/// by running the exported graph on the cached training features (not the pipeline again: the backbone ran once).
/// </summary>
internal static class TrainingThreshold
{
    private const int ScoringBatch = 8;

    public static float FromTrainingScores(byte[] graph, string input, FeatureCache cache, string trainer, IProgress<TrainingProgress>? progress)
    {
        using var session = new FlowGraphSession(graph, input);
        var shapes = cache.SampleShapes!;
        int length = shapes.Sum(s => s[0] * s[1] * s[2]);
        float max = float.NegativeInfinity;
        for (int start = 0; start < cache.Count; start += ScoringBatch)
        {
            int batch = Math.Min(ScoringBatch, cache.Count - start);
            var maps = shapes.Select(s => new Tensor(batch, s[0], s[1], s[2])).ToArray();
            int[] indices = Enumerable.Range(start, batch).ToArray();
            cache.ReadBatch(indices, maps);
            var rows = new float[batch * length];
            for (int b = 0; b < batch; b++)
            {
                int offset = b * length;
                foreach (Tensor map in maps)
                {
                    map.Sample(b).CopyTo(rows.AsSpan(offset));
                    offset += map.C * map.H * map.W;
                }
            }
            float[] scores = session.Run(rows, batch, ScorerGraph.RawScore);
            for (int b = 0; b < batch; b++)
            {
                if (!float.IsFinite(scores[b]))
                {
                    throw new InvalidOperationException(
                        $"{trainer}: training diverged: the trained model scores training row {start + b} as {scores[b]}, so no " +
                        "anomaly threshold can be derived. Train again with a lower learning rate or fewer epochs, and check the features for NaN or infinite values.");
                }
                max = MathF.Max(max, scores[b]);
            }
            progress?.Report(new TrainingProgress("score", start + batch, cache.Count));
        }
        return max;
    }
}
