namespace Microsoft.ML.UFlow.Onnx;

/// <summary>
/// The value names of the exported flow graphs. The outputs are named as the ML.NET columns they become (an
/// <c>OnnxTransformer</c>'s columns carry the graph's names). Every output has the symbolic batch dimension <c>N</c> first.
/// </summary>
public static class FlowGraphNames
{
    /// <summary>The default feature input: [N, total] for <see cref="FlowGraphInputLayout.Concatenated"/>; the prefix of the per-scale inputs otherwise.</summary>
    public const string DefaultInput = "Features";

    /// <summary>The anomaly map, float32 [N, S, S] (S = the map size).</summary>
    public const string AnomalyMap = "AnomalyMap";

    /// <summary>The image score, float32 [N] (higher = more anomalous).</summary>
    public const string Score = "Score";

    /// <summary>Score &gt; threshold, bool [N]; present only when the export was given a threshold.</summary>
    public const string PredictedLabel = "PredictedLabel";

    /// <summary>The prefix of the latent outputs: <c>Latent0</c> (finest scale), <c>Latent1</c>, …, float32 [N, C, H, W].</summary>
    public const string LatentPrefix = "Latent";

    /// <summary>The latent output of scale <paramref name="scale"/> (0 = finest).</summary>
    public static string Latent(int scale) => LatentPrefix + scale.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The input of scale <paramref name="scale"/> under <see cref="FlowGraphInputLayout.PerScale"/>: the input name followed by the index.</summary>
    public static string PerScaleInput(string inputName, int scale) => inputName + scale.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
