namespace Microsoft.ML.UFlow.Onnx;

/// <summary>
/// The <c>metadata_props</c> keys the flow exporters write (all prefixed <c>uflow.</c>). Values are invariant-culture
/// text; shapes are written <c>CxHxW</c> and lists are separated by <c>;</c>, finest scale first. The held-out and
/// calibration keys (and the tile keys) are written by <c>UFlowTrainer</c> (as additional metadata), not by the exporters.
/// </summary>
public static class FlowMetadataKeys
{
    /// <summary><c>uflow</c> or <c>csflow</c>.</summary>
    public const string Method = "uflow.method";

    /// <summary>The flow-graph format version (an integer; see <see cref="FlowModelFacts.CurrentFormatVersion"/>).</summary>
    public const string FormatVersion = "uflow.format_version";

    /// <summary>The informational version of the Microsoft.ML.UFlow library that wrote the graph.</summary>
    public const string LibraryVersion = "uflow.library_version";

    /// <summary>The feature scales the graph takes, e.g. <c>24x64x64;32x32x32;96x16x16</c>.</summary>
    public const string Scales = "uflow.scales";

    /// <summary>The latent shapes of the outputs <c>Latent0</c>, <c>Latent1</c>, …, e.g. <c>29x64x64;24x32x32;48x16x16</c>.</summary>
    public const string Latents = "uflow.latents";

    /// <summary>The anomaly map side S (the map is S×S for a square input; otherwise its shorter side, see <see cref="Scoring.MapGrid"/>).</summary>
    public const string MapSize = "uflow.map_size";

    /// <summary>The width of the training images after resizing (written when the training data had an <c>Image</c> column of known size).</summary>
    public const string InputWidth = "uflow.input_width";

    /// <summary>The height of the training images after resizing (with <see cref="InputWidth"/>).</summary>
    public const string InputHeight = "uflow.input_height";

    /// <summary>The image-score threshold (shortest round-trip float text); absent when the export had none.</summary>
    public const string Threshold = "uflow.threshold";

    /// <summary><c>concatenated</c> or <c>per_scale</c> (<see cref="FlowGraphInputLayout"/>).</summary>
    public const string InputLayout = "uflow.input_layout";

    /// <summary>The graph's feature input names, separated by <c>;</c>.</summary>
    public const string Inputs = "uflow.inputs";

    /// <summary>U-Flow: flow steps per stage.</summary>
    public const string FlowSteps = "uflow.flow_steps";

    /// <summary>U-Flow: the subnet hidden-width ratio.</summary>
    public const string SubnetChannelsRatio = "uflow.subnet_channels_ratio";

    /// <summary>U-Flow: the soft-clamp α of α·tanh(s); CS-Flow: the α of α·0.636·atan(s/α).</summary>
    public const string Clamp = "uflow.clamp";

    /// <summary>U-Flow: <c>true</c> when each feature map goes through the trainable LayerNorm first.</summary>
    public const string FeatureLayerNorm = "uflow.feature_layernorm";

    /// <summary>CS-Flow: hidden width of the cross-scale subnetworks.</summary>
    public const string HiddenChannels = "uflow.hidden_channels";

    /// <summary>CS-Flow: kernel size of each coupling block, separated by <c>;</c>.</summary>
    public const string KernelSizes = "uflow.kernel_sizes";

    /// <summary>U-Flow: the number of normal training images held out from training (absent when none were).</summary>
    public const string HeldOutImages = "uflow.held_out.images";

    /// <summary>U-Flow: the exported flow's mean negative log-likelihood on the held-out images (the training loss's normalisation).</summary>
    public const string HeldOutLoss = "uflow.held_out.nll";

    /// <summary>U-Flow: the exported flow's mean z² per scale on the held-out images, separated by <c>;</c>, finest first.</summary>
    public const string HeldOutMeanSquare = "uflow.held_out.mean_z2";

    /// <summary>U-Flow: the calibration of the latents the NFA reads, <c>none</c> or <c>held_out_scale</c> (absent: none).</summary>
    public const string Calibration = "uflow.calibration";

    /// <summary>U-Flow with <c>held_out_scale</c>: the divisor s_l of each scale's NFA statistic, separated by <c>;</c> (the
    /// <c>Latents</c> output holds z_l / √s_l).</summary>
    public const string CalibrationDivisors = "uflow.calibration.divisors";

    /// <summary>U-Flow trained on tiles: the tile side in pixels (the model scores one tile; absent for untiled models).</summary>
    public const string TileSize = "uflow.tile.size";

    /// <summary>U-Flow trained on tiles: the pixels neighbouring tiles share (with <see cref="TileSize"/>).</summary>
    public const string TileOverlap = "uflow.tile.overlap";

    private static readonly HashSet<string> s_reserved = new(StringComparer.Ordinal)
    {
        Method, FormatVersion, LibraryVersion, Scales, Latents, MapSize, InputWidth, InputHeight, Threshold, InputLayout, Inputs,
        FlowSteps, SubnetChannelsRatio, Clamp, FeatureLayerNorm, HiddenChannels, KernelSizes,
    };

    /// <summary>Whether the exporters write <paramref name="key"/> themselves.</summary>
    public static bool IsReserved(string key) => s_reserved.Contains(key);
}
