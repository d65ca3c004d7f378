namespace Microsoft.ML.UFlow.Onnx;

/// <summary>Options of <see cref="UFlowOnnxExporter"/> and <see cref="CsFlowOnnxExporter"/>.</summary>
public sealed class FlowOnnxExportOptions
{
    /// <summary>The defaults.</summary>
    public static class Defaults
    {
        /// <summary>The anomaly map size: 256×256, the official evaluation size (METHOD.md A.6, Part B).</summary>
        public const int MapSize = 256;

        /// <summary>The feature input layout: one concatenated vector, as an ML.NET pipeline carries one column.</summary>
        public const FlowGraphInputLayout InputLayout = FlowGraphInputLayout.Concatenated;

        /// <summary>The feature input name (<see cref="FlowGraphNames.DefaultInput"/>).</summary>
        public const string InputName = FlowGraphNames.DefaultInput;
    }

    /// <summary>
    /// The anomaly map side S (default <see cref="Defaults.MapSize"/>): the map is S×S for square latents, else its shorter
    /// side is S and it has the latents' aspect (<see cref="Scoring.MapGrid"/>).
    /// </summary>
    public int MapSize { get; set; } = Defaults.MapSize;

    /// <summary>
    /// The training images' width × height after resizing, recorded in the metadata (<see cref="FlowMetadataKeys.InputWidth"/>)
    /// so that a scorer can warn about images of another aspect (default null: not recorded).
    /// </summary>
    public (int Width, int Height)? InputSize { get; set; }

    /// <summary>
    /// The image-score threshold (typically the highest training score). When set, the graph also outputs
    /// <see cref="FlowGraphNames.PredictedLabel"/> = Score &gt; threshold and the metadata records it; when null (default),
    /// neither. Must not be NaN.
    /// </summary>
    public float? Threshold { get; set; }

    /// <summary>How the graph takes its features (default <see cref="Defaults.InputLayout"/>).</summary>
    public FlowGraphInputLayout InputLayout { get; set; } = Defaults.InputLayout;

    /// <summary>The feature input's name, or the prefix of the per-scale inputs (default <see cref="Defaults.InputName"/>).</summary>
    public string InputName { get; set; } = Defaults.InputName;

    /// <summary>
    /// Further model facts for <c>metadata_props</c> (e.g. training statistics). Written after the exporter's own keys, in
    /// ordinal key order; a key the exporter writes itself (<see cref="FlowMetadataKeys"/>) is refused.
    /// </summary>
    public IReadOnlyDictionary<string, string>? AdditionalMetadata { get; set; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentException"/> naming the bad option.</summary>
    public void Validate()
    {
        if (MapSize < 1) throw new ArgumentOutOfRangeException(nameof(MapSize), MapSize, "The map size must be positive.");
        if (InputSize is { } input && (input.Width < 1 || input.Height < 1))
            throw new ArgumentOutOfRangeException(nameof(InputSize), $"The input size must be positive; got {input.Width}x{input.Height}.");
        if (Threshold is float t && float.IsNaN(t)) throw new ArgumentOutOfRangeException(nameof(Threshold), t, "The threshold must not be NaN.");
        if (!Enum.IsDefined(InputLayout)) throw new ArgumentOutOfRangeException(nameof(InputLayout), InputLayout, "Unknown input layout.");
        if (string.IsNullOrWhiteSpace(InputName)) throw new ArgumentException("The input name must not be empty.", nameof(InputName));
        if (InputName.StartsWith(FlowGraphNames.LatentPrefix, StringComparison.Ordinal) || InputName is FlowGraphNames.AnomalyMap or FlowGraphNames.Score or FlowGraphNames.PredictedLabel)
        {
            throw new ArgumentException($"The input name '{InputName}' collides with the graph's output names.", nameof(InputName));
        }
        if (AdditionalMetadata is not null)
        {
            foreach (var (key, value) in AdditionalMetadata)
            {
                if (string.IsNullOrEmpty(key) || value is null) throw new ArgumentException("Additional metadata needs non-empty keys and non-null values.", nameof(AdditionalMetadata));
                if (FlowMetadataKeys.IsReserved(key)) throw new ArgumentException($"Metadata key '{key}' is written by the exporter itself.", nameof(AdditionalMetadata));
            }
        }
    }
}
