using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.UFlow.Flows;
using Onnx;

namespace Microsoft.ML.UFlow.Onnx;

/// <summary>
/// The model facts an exported flow graph carries in its ONNX <c>metadata_props</c> (<see cref="FlowMetadataKeys"/>):
/// method, format version, library version, scales, latent shapes, map size, threshold, inputs, plus every other entry
/// in <see cref="Properties"/>. Reading refuses graphs that were not exported by this library and graphs of another
/// format version.
/// </summary>
public sealed class FlowModelFacts
{
    /// <summary>The flow-graph format version this library writes and reads. Changes when inputs, outputs or their meaning change.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>The <see cref="Method"/> of a U-Flow graph.</summary>
    public const string UFlowMethod = "uflow";

    /// <summary>The <see cref="Method"/> of a CS-Flow graph.</summary>
    public const string CsFlowMethod = "csflow";

    private FlowModelFacts(IReadOnlyDictionary<string, string> properties, string source)
    {
        Properties = properties;
        Method = Required(properties, FlowMetadataKeys.Method, source);
        if (Method is not (UFlowMethod or CsFlowMethod)) throw Invalid(source, $"its method '{Method}' is neither '{UFlowMethod}' nor '{CsFlowMethod}'");
        LibraryVersion = properties.GetValueOrDefault(FlowMetadataKeys.LibraryVersion, "unknown");
        string versionText = Required(properties, FlowMetadataKeys.FormatVersion, source);
        if (!int.TryParse(versionText, NumberStyles.None, CultureInfo.InvariantCulture, out int version)) throw Invalid(source, $"its format version '{versionText}' is not a number");
        FormatVersion = version;
        if (version != CurrentFormatVersion)
        {
            throw new InvalidDataException(
                $"{source} is a {Method} flow graph of format version {version}, written by Microsoft.ML.UFlow {LibraryVersion}; this library " +
                $"({FlowGraphParts.LibraryVersion}) reads format version {CurrentFormatVersion} only. Retrain the model with this version (or use the version that wrote it).");
        }
        Scales = ParseShapes(Required(properties, FlowMetadataKeys.Scales, source), FlowMetadataKeys.Scales, source);
        Latents = ParseShapes(Required(properties, FlowMetadataKeys.Latents, source), FlowMetadataKeys.Latents, source);
        string mapText = Required(properties, FlowMetadataKeys.MapSize, source);
        if (!int.TryParse(mapText, NumberStyles.None, CultureInfo.InvariantCulture, out int mapSize) || mapSize < 1) throw Invalid(source, $"its map size '{mapText}' is not a positive integer");
        MapSize = mapSize;
        (MapHeight, MapWidth) = FlowGraphParts.MapGridOf(mapSize, Latents);
        InputWidth = OptionalPositive(properties, FlowMetadataKeys.InputWidth, source);
        InputHeight = OptionalPositive(properties, FlowMetadataKeys.InputHeight, source);
        if (properties.TryGetValue(FlowMetadataKeys.Threshold, out string? thresholdText))
        {
            if (!float.TryParse(thresholdText, NumberStyles.Float, CultureInfo.InvariantCulture, out float threshold) || float.IsNaN(threshold)) throw Invalid(source, $"its threshold '{thresholdText}' is not a number");
            Threshold = threshold;
        }
        InputLayout = Required(properties, FlowMetadataKeys.InputLayout, source) switch
        {
            "concatenated" => FlowGraphInputLayout.Concatenated,
            "per_scale" => FlowGraphInputLayout.PerScale,
            string other => throw Invalid(source, $"its input layout '{other}' is unknown"),
        };
        Inputs = Required(properties, FlowMetadataKeys.Inputs, source).Split(';');
        HeldOut = ParseHeldOut(properties, source);
        Calibration = properties.GetValueOrDefault(FlowMetadataKeys.Calibration, "none") switch
        {
            "none" => LatentCalibration.None,
            "held_out_scale" => LatentCalibration.HeldOutScale,
            string other => throw Invalid(source, $"its calibration '{other}' is unknown"),
        };
        Tiling = ParseTiling(properties, source);
        if (Calibration != LatentCalibration.None)
        {
            CalibrationDivisors = ParseNumbers(Required(properties, FlowMetadataKeys.CalibrationDivisors, source), FlowMetadataKeys.CalibrationDivisors, source);
            if (CalibrationDivisors.Count != Latents.Count || CalibrationDivisors.Any(d => !(d > 0) || !double.IsFinite(d)))
                throw Invalid(source, $"its '{FlowMetadataKeys.CalibrationDivisors}' are not {Latents.Count} positive numbers");
        }
    }

    /// <summary><see cref="UFlowMethod"/> or <see cref="CsFlowMethod"/>.</summary>
    public string Method { get; }

    /// <summary>The flow-graph format version (always <see cref="CurrentFormatVersion"/> for a graph that was read).</summary>
    public int FormatVersion { get; }

    /// <summary>The version of Microsoft.ML.UFlow that wrote the graph.</summary>
    public string LibraryVersion { get; }

    /// <summary>The feature scales the graph takes, finest first.</summary>
    public IReadOnlyList<FlowScale> Scales { get; }

    /// <summary>The shapes [C, H, W] of the outputs <c>Latent0</c>, <c>Latent1</c>, … (finest first).</summary>
    public IReadOnlyList<FlowScale> Latents { get; }

    /// <summary>The map side S: the anomaly map is S×S for a square input, else its shorter side is S (<see cref="Scoring.MapGrid"/>).</summary>
    public int MapSize { get; }

    /// <summary>The anomaly map's height (<see cref="Scoring.MapGrid"/> of <see cref="MapSize"/> and the finest latent).</summary>
    public int MapHeight { get; }

    /// <summary>The anomaly map's width.</summary>
    public int MapWidth { get; }

    /// <summary>The width of the images the model was trained on (after resizing), or null when the training data had no
    /// <c>Image</c> column of known size.</summary>
    public int? InputWidth { get; }

    /// <summary>The height of the training images (after resizing), or null; see <see cref="InputWidth"/>.</summary>
    public int? InputHeight { get; }

    /// <summary>The image-score threshold of <c>PredictedLabel</c>, or null when the graph has none.</summary>
    public float? Threshold { get; }

    /// <summary>How the graph takes its features.</summary>
    public FlowGraphInputLayout InputLayout { get; }

    /// <summary>The graph's feature input names (one, or one per scale).</summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>
    /// The exported flow on the normal training images held out from training (U-Flow trained with a held-out fraction),
    /// or null when the model has none.
    /// </summary>
    public HeldOutEvaluation? HeldOut { get; }

    /// <summary>The calibration of the latents the NFA reads (<see cref="LatentCalibration.None"/> for models without one).</summary>
    public LatentCalibration Calibration { get; }

    /// <summary>With <see cref="LatentCalibration.HeldOutScale"/>, the divisor s_l of each scale's NFA statistic, finest first; otherwise null.</summary>
    public IReadOnlyList<double>? CalibrationDivisors { get; }

    /// <summary>
    /// The tiles the model was trained on (it scores one tile; <see cref="TiledAnomalyScorer"/> scores whole images), or
    /// null for a model of whole (resized) images.
    /// </summary>
    public ImageTiling? Tiling { get; }

    /// <summary>Every <c>metadata_props</c> entry of the graph, including facts added at export.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; }

    /// <summary>Reads the facts of the ONNX model in <paramref name="onnx"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not an ONNX model, not a flow graph of this library, or of another format version.</exception>
    public static FlowModelFacts Read(byte[] onnx)
    {
        ArgumentNullException.ThrowIfNull(onnx);
        return FromModel(Parse(() => ModelProto.Parser.ParseFrom(onnx), "the ONNX bytes"), "the ONNX bytes");
    }

    /// <summary>Reads the facts of the ONNX model file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not an ONNX model, not a flow graph of this library, or of another format version.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static FlowModelFacts Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = File.OpenRead(path);
        string source = $"'{path}'";
        return FromModel(Parse(() => ModelProto.Parser.ParseFrom(stream), source), source);
    }

    /// <summary>
    /// Reads the facts from a model's metadata map, e.g. ONNX Runtime's <c>InferenceSession.ModelMetadata.CustomMetadataMap</c>.
    /// <paramref name="source"/> names the model in error messages.
    /// </summary>
    /// <exception cref="InvalidDataException">The metadata is not that of a flow graph of this library, or of another format version.</exception>
    public static FlowModelFacts FromMetadata(IReadOnlyDictionary<string, string> metadata, string source = "the model")
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return new FlowModelFacts(new Dictionary<string, string>(metadata, StringComparer.Ordinal), source);
    }

    private static FlowModelFacts FromModel(ModelProto model, string source)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (StringStringEntryProto entry in model.MetadataProps) properties[entry.Key] = entry.Value;
        return new FlowModelFacts(properties, source);
    }

    private static ModelProto Parse(Func<ModelProto> parse, string source)
    {
        try
        {
            return parse();
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{source} is not an ONNX model (truncated or another kind of file): {e.Message}", e);
        }
    }

    private static string Required(IReadOnlyDictionary<string, string> properties, string key, string source)
        => properties.TryGetValue(key, out string? value) ? value
            : throw Invalid(source, $"its metadata has no '{key}'");

    private static int? OptionalPositive(IReadOnlyDictionary<string, string> properties, string key, string source)
    {
        if (!properties.TryGetValue(key, out string? text)) return null;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1) throw Invalid(source, $"its '{key}' '{text}' is not a positive integer");
        return value;
    }

    private static InvalidDataException Invalid(string source, string what)
        => new($"{source} is not a flow graph exported by Microsoft.ML.UFlow: {what}.");

    private static HeldOutEvaluation? ParseHeldOut(IReadOnlyDictionary<string, string> properties, string source)
    {
        if (!properties.TryGetValue(FlowMetadataKeys.HeldOutImages, out string? imagesText)) return null;
        if (!int.TryParse(imagesText, NumberStyles.None, CultureInfo.InvariantCulture, out int images) || images < 1)
            throw Invalid(source, $"its held-out image count '{imagesText}' is not a positive integer");
        string lossText = Required(properties, FlowMetadataKeys.HeldOutLoss, source);
        if (!double.TryParse(lossText, NumberStyles.Float, CultureInfo.InvariantCulture, out double loss)) throw Invalid(source, $"its held-out loss '{lossText}' is not a number");
        var meanSquare = ParseNumbers(Required(properties, FlowMetadataKeys.HeldOutMeanSquare, source), FlowMetadataKeys.HeldOutMeanSquare, source);
        return new HeldOutEvaluation(images, loss, meanSquare);
    }

    private static ImageTiling? ParseTiling(IReadOnlyDictionary<string, string> properties, string source)
    {
        if (OptionalPositive(properties, FlowMetadataKeys.TileSize, source) is not int size) return null;
        string overlapText = Required(properties, FlowMetadataKeys.TileOverlap, source);
        if (!int.TryParse(overlapText, NumberStyles.None, CultureInfo.InvariantCulture, out int overlap) || overlap >= size)
            throw Invalid(source, $"its tile overlap '{overlapText}' is not an integer in [0, {size})");
        return new ImageTiling(size, overlap);
    }

    private static IReadOnlyList<double> ParseNumbers(string text, string key, string source)
    {
        string[] parts = text.Split(';');
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i])) throw Invalid(source, $"its '{key}' entry '{text}' is not a list of numbers");
        }
        return values;
    }

    private static FlowScale[] ParseShapes(string text, string key, string source)
    {
        string[] parts = text.Split(';');
        var shapes = new FlowScale[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            string[] dims = parts[i].Split('x');
            if (dims.Length != 3
                || !int.TryParse(dims[0], NumberStyles.None, CultureInfo.InvariantCulture, out int c)
                || !int.TryParse(dims[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h)
                || !int.TryParse(dims[2], NumberStyles.None, CultureInfo.InvariantCulture, out int w))
            {
                throw Invalid(source, $"its '{key}' entry '{text}' is not a list of CxHxW shapes");
            }
            shapes[i] = new FlowScale(c, h, w);
        }
        return shapes;
    }
}
