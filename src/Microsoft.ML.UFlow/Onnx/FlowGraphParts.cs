using System.Globalization;
using System.Reflection;
using Google.Protobuf;
using Microsoft.ML.UFlow.Flows;
using Onnx;

namespace Microsoft.ML.UFlow.Onnx;

/// <summary>The pieces both flow exporters share: feature inputs, bilinear resizing, the map and label outputs, the metadata.</summary>
internal static class FlowGraphParts
{
    /// <summary>The producer name written into every exported model.</summary>
    public const string ProducerName = "Microsoft.ML.UFlow";

    /// <summary>The informational version of this library (with the source revision when the build has one).</summary>
    public static string LibraryVersion { get; } =
        typeof(FlowGraphParts).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(FlowGraphParts).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    /// <summary>
    /// Declares the feature inputs of <paramref name="scales"/> (finest first) in the chosen layout and returns, per scale,
    /// the name of its [N, C, H, W] tensor; <paramref name="inputNames"/> receives the graph's input names.
    /// </summary>
    public static string[] AddFeatureInputs(OnnxGraphBuilder b, IReadOnlyList<FlowScale> scales, FlowOnnxExportOptions options, out string[] inputNames)
    {
        var maps = new string[scales.Count];
        if (options.InputLayout == FlowGraphInputLayout.PerScale)
        {
            inputNames = new string[scales.Count];
            for (int l = 0; l < scales.Count; l++)
            {
                FlowScale s = scales[l];
                inputNames[l] = maps[l] = b.AddInput(FlowGraphNames.PerScaleInput(options.InputName, l), -1, s.Channels, s.Height, s.Width);
            }
            return maps;
        }
        long total = scales.Sum(s => (long)s.Channels * s.Height * s.Width);
        string input = b.AddInput(options.InputName, -1, total);
        inputNames = [input];
        long offset = 0;
        for (int l = 0; l < scales.Count; l++)
        {
            FlowScale s = scales[l];
            long size = (long)s.Channels * s.Height * s.Width;
            string flat = b.AddNode("Slice", [input, b.Int64s(offset), b.Int64s(offset + size), b.Int64s(1)], $"features{l}_flat");
            maps[l] = b.AddNode("Reshape", [flat, b.Int64s(-1, s.Channels, s.Height, s.Width)], $"features{l}");
            offset += size;
        }
        return maps;
    }

    /// <summary>An NCHW tensor split into its first <paramref name="first"/> channels and the next <paramref name="second"/>.</summary>
    public static string[] SplitChannels(OnnxGraphBuilder b, string x, long first, long second, string firstHint, string secondHint)
        => b.AddNode("Split", [x, b.Int64s(first, second)], [firstHint, secondHint], OnnxAttributes.Int("axis", 1));

    /// <summary>
    /// The [4] int64 tensor [N, 1, H, W] for <see cref="ResizeBilinear"/>, N taken from <paramref name="nchw"/> at run time
    /// (Resize wants the full output shape and the batch is symbolic).
    /// </summary>
    public static string MapSizes(OnnxGraphBuilder b, string nchw, int height, int width)
    {
        string batch = b.AddNode("Shape", [nchw], "batch", OnnxAttributes.Int("start", 0), OnnxAttributes.Int("end", 1));
        return b.AddNode("Concat", [batch, b.Int64s(1, height, width)], "map_sizes", OnnxAttributes.Int("axis", 0));
    }

    /// <summary>The map grid (<see cref="Scoring.MapGrid"/>) of side <paramref name="size"/> for the finest latent.</summary>
    public static (int Height, int Width) MapGridOf(int size, IReadOnlyList<FlowScale> latents)
        => Scoring.MapGrid.For(size, latents.Select(l => (l.Height, l.Width)));

    /// <summary>
    /// Bilinear resize of an NCHW tensor to <paramref name="sizes"/> with PyTorch's <c>align_corners = False</c> convention
    /// and no antialiasing: source = (dst + 0.5)·in/out − 0.5, clamped at the border by ONNX Runtime's linear mode
    /// (<c>coordinate_transformation_mode = pytorch_half_pixel</c>, which is half_pixel except for a 1-pixel output).
    /// </summary>
    public static string ResizeBilinear(OnnxGraphBuilder b, string x, string sizes, string hint)
        => b.AddNode("Resize", [x, "", "", sizes], hint, BilinearAttributes());

    /// <summary>2× bilinear upsampling (align_corners = False) of an NCHW tensor, by scale factors.</summary>
    public static string Upsample2x(OnnxGraphBuilder b, string x, string hint)
        => b.AddNode("Resize", [x, "", b.Floats(1f, 1f, 2f, 2f)], hint, BilinearAttributes());

    /// <summary>Declares the map output: [N, 1, H, W] squeezed to [N, H, W] under <see cref="FlowGraphNames.AnomalyMap"/>.</summary>
    public static string AddMapOutput(OnnxGraphBuilder b, string map4, int height, int width)
    {
        string map = b.AddNode("Squeeze", [map4, b.Int64s(1)], FlowGraphNames.AnomalyMap);
        b.AddOutput(map, TensorProto.Types.DataType.Float, -1, height, width);
        return map;
    }

    /// <summary>Declares the score output and, when a threshold is given, <see cref="FlowGraphNames.PredictedLabel"/> = score &gt; threshold.</summary>
    public static void AddScoreOutputs(OnnxGraphBuilder b, string score, float? threshold)
    {
        b.AddOutput(score, TensorProto.Types.DataType.Float, -1);
        if (threshold is float t)
        {
            string label = b.AddNode("Greater", [score, b.Scalar(t)], FlowGraphNames.PredictedLabel);
            b.AddOutput(label, TensorProto.Types.DataType.Bool, -1);
        }
    }

    /// <summary>Writes the keys every flow graph carries, then the method's own (<paramref name="specific"/>), then the user's.</summary>
    public static void AddMetadata(
        OnnxGraphBuilder b,
        string method,
        IReadOnlyList<FlowScale> scales,
        IReadOnlyList<FlowScale> latents,
        FlowOnnxExportOptions options,
        IReadOnlyList<string> inputNames,
        IEnumerable<(string Key, string Value)> specific)
    {
        b.AddMetadata(FlowMetadataKeys.Method, method);
        b.AddMetadata(FlowMetadataKeys.FormatVersion, FlowModelFacts.CurrentFormatVersion.ToString(CultureInfo.InvariantCulture));
        b.AddMetadata(FlowMetadataKeys.LibraryVersion, LibraryVersion);
        b.AddMetadata(FlowMetadataKeys.Scales, FormatShapes(scales));
        b.AddMetadata(FlowMetadataKeys.Latents, FormatShapes(latents));
        b.AddMetadata(FlowMetadataKeys.MapSize, options.MapSize.ToString(CultureInfo.InvariantCulture));
        if (options.InputSize is { } input)
        {
            b.AddMetadata(FlowMetadataKeys.InputWidth, input.Width.ToString(CultureInfo.InvariantCulture));
            b.AddMetadata(FlowMetadataKeys.InputHeight, input.Height.ToString(CultureInfo.InvariantCulture));
        }
        if (options.Threshold is float t) b.AddMetadata(FlowMetadataKeys.Threshold, FormatFloat(t));
        b.AddMetadata(FlowMetadataKeys.InputLayout, FormatLayout(options.InputLayout));
        b.AddMetadata(FlowMetadataKeys.Inputs, string.Join(";", inputNames));
        foreach (var (key, value) in specific) b.AddMetadata(key, value);
        if (options.AdditionalMetadata is not null)
        {
            foreach (var (key, value) in options.AdditionalMetadata.OrderBy(e => e.Key, StringComparer.Ordinal)) b.AddMetadata(key, value);
        }
    }

    /// <summary>The model's bytes, written by Google.Protobuf.</summary>
    public static byte[] Serialize(OnnxGraphBuilder b) => b.Build(ProducerName, LibraryVersion).ToByteArray();

    /// <summary><c>CxHxW;CxHxW;…</c>.</summary>
    public static string FormatShapes(IEnumerable<FlowScale> shapes)
        => string.Join(";", shapes.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Channels}x{s.Height}x{s.Width}")));

    /// <summary>Shortest text that parses back to the same float.</summary>
    public static string FormatFloat(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Shortest text that parses back to the same double.</summary>
    public static string FormatDouble(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The metadata text of a layout.</summary>
    public static string FormatLayout(FlowGraphInputLayout layout) => layout == FlowGraphInputLayout.PerScale ? "per_scale" : "concatenated";

    private static AttributeProto[] BilinearAttributes() =>
    [
        OnnxAttributes.String("mode", "linear"),
        OnnxAttributes.String("coordinate_transformation_mode", "pytorch_half_pixel"),
    ];
}
