using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Microsoft.ML.UFlow.Onnx;

/// <summary>
/// Prepares an ImageNet backbone for ML.NET's <c>OnnxTransformer</c> (DESIGN.md §3): a new input takes the pixels as
/// ML.NET's <c>ExtractPixels</c> gives them (float32 RGB planes, 0–255), ImageNet normalisation is folded in as one
/// per-channel multiply-add, the chosen intermediate outputs are flattened and concatenated (in the order given) into
/// one output, and a constant output gives each map's [C, H, W] at the prepared input size.
/// </summary>
/// <remarks>
/// The backbone must have one float32 NCHW input that takes RGB scaled to [0, 1] and normalised with ImageNet's mean and
/// std (torchvision's convention, <c>../shared/models/README.md</c>). Any value of the graph (a graph output or an
/// intermediate node output) can be chosen. Map sizes are found by running the graph once on a black image.
/// </remarks>
public static class BackboneGraph
{
    /// <summary>ImageNet channel means of RGB in [0, 1].</summary>
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet channel standard deviations of RGB in [0, 1].</summary>
    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    /// <summary>The suffix of the constant output that gives the maps' shapes: <c>{output}.Shapes</c>.</summary>
    public const string ShapesSuffix = ".Shapes";

    /// <summary>
    /// Returns the prepared graph: input <paramref name="pixelsName"/> [N, 3, height, width] (0–255), outputs
    /// <paramref name="outputName"/> [N, Σ C·H·W] and <paramref name="outputName"/><c>.Shapes</c> [3·k] (C, H, W of each
    /// chosen map as floats).
    /// </summary>
    /// <param name="backbone">The backbone's ONNX bytes.</param>
    /// <param name="sourceName">The file name, for error messages.</param>
    /// <param name="layers">Values of the graph to expose, finest first (e.g. <c>stride4, stride8, stride16</c>).</param>
    /// <param name="pixelsName">The name of the new pixel input (the ML.NET column that holds the pixels).</param>
    /// <param name="outputName">The name of the concatenated output (the ML.NET features column).</param>
    /// <param name="height">Input height in pixels.</param>
    /// <param name="width">Input width in pixels.</param>
    /// <exception cref="ArgumentException">The file is not an ONNX model with one float image input, or a layer is not a
    /// value of the graph (the message lists the graph's outputs).</exception>
    public static PreparedBackbone Prepare(byte[] backbone, string sourceName, IReadOnlyList<string> layers,
        string pixelsName, string outputName, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentException.ThrowIfNullOrEmpty(pixelsName);
        ArgumentException.ThrowIfNullOrEmpty(outputName);
        if (layers.Count == 0) throw new ArgumentException("Choose at least one layer of the backbone.", nameof(layers));
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), $"Input size {width}x{height} must be positive.");

        ModelProto model = Parse(backbone, sourceName);
        string original = SingleImageInput(model.Graph, sourceName);
        CheckLayers(model.Graph, layers, sourceName);
        if (model.Graph.Node.Any(n => n.Output.Contains(pixelsName) || n.Output.Contains(outputName)))
            throw new ArgumentException($"'{sourceName}' already has a value named '{pixelsName}' or '{outputName}'; choose other column names.");
        int[][] shapes = MapShapes(model, original, layers, height, width, sourceName);
        string prefix = "uflow_prep_";
        var nodes = Normalisation(model.Graph, pixelsName, original, prefix);
        nodes.AddRange(model.Graph.Node);
        return Finish(model, nodes, pixelsName, height, width, layers, shapes, outputName, prefix);
    }

    /// <summary>
    /// The names of the backbone's graph outputs, in the graph's order: for example to choose, among known layer sets,
    /// one that the backbone has (any inner value of the graph can be chosen as a layer too; see <see cref="Prepare"/>).
    /// </summary>
    /// <param name="backbone">The backbone's ONNX bytes.</param>
    /// <param name="sourceName">The file name, for error messages.</param>
    /// <exception cref="ArgumentException">The bytes are not an ONNX model (the message names <paramref name="sourceName"/>).</exception>
    public static IReadOnlyList<string> OutputNames(byte[] backbone, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        return Parse(backbone, sourceName).Graph.Output.Select(o => o.Name).ToArray();
    }

    // The backbone's one float32 NCHW image input (initializers listed as inputs by old exporters are not inputs).
    private static string SingleImageInput(GraphProto graph, string sourceName)
    {
        var initializers = new HashSet<string>(graph.Initializer.Select(i => i.Name));
        var realInputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        if (realInputs.Count != 1 || realInputs[0].Type?.TensorType is not { } inputType
            || inputType.ElemType != (int)TensorProto.Types.DataType.Float || inputType.Shape?.Dim.Count != 4)
        {
            throw new ArgumentException($"'{sourceName}' is not an image backbone: it needs one float32 input [N, 3, H, W]; " +
                $"it has {string.Join(", ", realInputs.Select(i => i.Name))}.");
        }
        return realInputs[0].Name;
    }

    private static void CheckLayers(GraphProto graph, IReadOnlyList<string> layers, string sourceName)
    {
        var values = new HashSet<string>(graph.Node.SelectMany(n => n.Output));
        foreach (string layer in layers)
        {
            if (!values.Contains(layer))
            {
                throw new ArgumentException($"'{sourceName}' has no output '{layer}'. Its outputs: " +
                    $"{string.Join(", ", graph.Output.Select(o => o.Name))}.", nameof(layers));
            }
        }
    }

    // pixels·(1/(255·std)) − mean/std, written to the backbone's own input name.
    private static List<NodeProto> Normalisation(GraphProto graph, string pixelsName, string backboneInput, string prefix)
    {
        var scale = new float[3];
        var shift = new float[3];
        for (int c = 0; c < 3; c++)
        {
            scale[c] = 1f / (255f * ImageNetStd[c]);
            shift[c] = -ImageNetMean[c] / ImageNetStd[c];
        }
        graph.Initializer.Add(OnnxTensors.Float(prefix + "scale", [1, 3, 1, 1], scale));
        graph.Initializer.Add(OnnxTensors.Float(prefix + "shift", [1, 3, 1, 1], shift));
        return
        [
            OnnxNodes.Node("Mul", [pixelsName, prefix + "scale"], [prefix + "scaled"]),
            OnnxNodes.Node("Add", [prefix + "scaled", prefix + "shift"], [backboneInput]),
        ];
    }

    // Flattens and concatenates the chosen values, adds the constant shapes output, and replaces inputs and outputs.
    private static PreparedBackbone Finish(ModelProto model, List<NodeProto> nodes, string pixelsName, int height, int width,
        IReadOnlyList<string> values, int[][] shapes, string outputName, string prefix)
    {
        GraphProto graph = model.Graph;
        graph.Initializer.Add(OnnxTensors.Int64(prefix + "flat", [2], [0, -1]));
        var flatNames = new List<string>();
        for (int i = 0; i < values.Count; i++)
        {
            string flat = $"{prefix}flat{i}";
            nodes.Add(OnnxNodes.Node("Reshape", [values[i], prefix + "flat"], [flat]));
            flatNames.Add(flat);
        }
        nodes.Add(OnnxNodes.Node("Concat", flatNames, [outputName], OnnxAttributes.Int("axis", 1)));
        float[] shapeValues = shapes.SelectMany(s => s.Select(d => (float)d)).ToArray();
        nodes.Add(OnnxNodes.Node("Constant", [], [outputName + ShapesSuffix],
            OnnxAttributes.Tensor("value", OnnxTensors.Float(prefix + "shapes", [shapeValues.Length], shapeValues))));
        graph.Node.Clear();
        graph.Node.Add(nodes);
        var initializers = new HashSet<string>(graph.Initializer.Select(i => i.Name));
        var keptInputs = graph.Input.Where(i => initializers.Contains(i.Name)).ToList();
        graph.Input.Clear();
        graph.Input.Add(OnnxNodes.FloatValue(pixelsName, [-1, 3, height, width]));
        graph.Input.Add(keptInputs);
        graph.Output.Clear();
        long total = shapes.Sum(s => (long)s[0] * s[1] * s[2]);
        graph.Output.Add(OnnxNodes.FloatValue(outputName, [-1, total]));
        graph.Output.Add(OnnxNodes.FloatValue(outputName + ShapesSuffix, [shapeValues.Length]));
        EnsureOpset(model, 13);
        return new PreparedBackbone(model.ToByteArray(), shapes.Select(s => (s[0], s[1], s[2])).ToArray());
    }

    /// <summary>
    /// CS-Flow's featurizer (METHOD.md C.1): the normalised image and its nearest-neighbour copies at 1/2 and 1/4 (every
    /// 2nd and 4th pixel, as PyTorch's <c>F.interpolate</c> default mode) each go through the backbone; the output
    /// <paramref name="layer"/> of the three runs is flattened and concatenated (full size first) into
    /// <paramref name="outputName"/>, with the shapes in <paramref name="outputName"/><c>.Shapes</c>.
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="Prepare"/>; or the size is not a multiple of 4.</exception>
    public static PreparedBackbone PrepareCsFlow(byte[] backbone, string sourceName, string layer,
        string pixelsName, string outputName, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentException.ThrowIfNullOrEmpty(layer);
        if (height < 4 || width < 4 || height % 4 != 0 || width % 4 != 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"CS-Flow's input {width}x{height} must be a multiple of 4 (its 1/4 copy).");
        // Prepare the full-size branch, then add two renamed copies of the backbone fed by strided slices of its input.
        ModelProto model = Parse(backbone, sourceName);
        string original = SingleImageInput(model.Graph, sourceName);
        CheckLayers(model.Graph, [layer], sourceName);
        int[][] shapes =
        [
            MapShapes(model, original, [layer], height, width, sourceName)[0],
            MapShapes(model, original, [layer], height / 2, width / 2, sourceName)[0],
            MapShapes(model, original, [layer], height / 4, width / 4, sourceName)[0],
        ];
        GraphProto graph = model.Graph;
        var initializers = new HashSet<string>(graph.Initializer.Select(i => i.Name));
        var backboneNodes = graph.Node.ToList();
        string prefix = "uflow_prep_";
        var nodes = Normalisation(graph, pixelsName, original, prefix);
        nodes.AddRange(backboneNodes);
        graph.Initializer.Add(OnnxTensors.Int64(prefix + "slice_starts", [2], [0, 0]));
        graph.Initializer.Add(OnnxTensors.Int64(prefix + "slice_ends", [2], [long.MaxValue, long.MaxValue]));
        graph.Initializer.Add(OnnxTensors.Int64(prefix + "slice_axes", [2], [2, 3]));
        var outputs = new List<string> { layer };
        foreach (int step in new[] { 2, 4 })
        {
            string copy = $"{prefix}s{step}_";
            graph.Initializer.Add(OnnxTensors.Int64(copy + "steps", [2], [step, step]));
            nodes.Add(OnnxNodes.Node("Slice", [original, prefix + "slice_starts", prefix + "slice_ends", prefix + "slice_axes", copy + "steps"], [copy + original]));
            foreach (NodeProto node in backboneNodes)
            {
                var renamed = node.Clone();
                renamed.Name = copy + node.Name;
                for (int i = 0; i < renamed.Input.Count; i++)
                {
                    string input = renamed.Input[i];
                    if (input.Length > 0 && !initializers.Contains(input)) renamed.Input[i] = copy + input;
                }
                for (int i = 0; i < renamed.Output.Count; i++)
                {
                    if (renamed.Output[i].Length > 0) renamed.Output[i] = copy + renamed.Output[i];
                }
                nodes.Add(renamed);
            }
            outputs.Add(copy + layer);
        }
        graph.ValueInfo.Clear(); // shape hints of the full-size run only; optional in ONNX
        return Finish(model, nodes, pixelsName, height, width, outputs, shapes, outputName, prefix);
    }

    /// <summary>
    /// The MS-CaiT featurizer of U-Flow (METHOD.md A.2.1) as one graph: the fine CaiT model on the normalised image, the
    /// coarse one on that normalised image downsampled to half size by bicubic interpolation (align_corners, A = −0.75,
    /// no antialiasing: ONNX <c>Resize</c>, as PyTorch's <c>F.interpolate</c>), each model's tokens [B, N, D] reshaped
    /// row-major into maps [B, D, √N, √N], flattened and concatenated (fine first).
    /// </summary>
    /// <param name="fine">The fine model (CaiT-M48 at 448, 41 blocks): one input [B, 3, S, S], one output tokens [B, N, D].</param>
    /// <param name="coarse">The coarse model (CaiT-S24 at S/2, 21 blocks), the same form.</param>
    /// <param name="pixelsName">The pixel input's name.</param>
    /// <param name="outputName">The concatenated output's name.</param>
    /// <param name="size">The input side S (448 for the paper's models).</param>
    /// <exception cref="ArgumentException">A model is not a token model of that form.</exception>
    public static PreparedBackbone PrepareMsCait(byte[] fine, byte[] coarse, string pixelsName, string outputName, int size)
    {
        ArgumentNullException.ThrowIfNull(fine);
        ArgumentNullException.ThrowIfNull(coarse);
        if (size < 2 || size % 2 != 0) throw new ArgumentOutOfRangeException(nameof(size), size, "The MS-CaiT input side must be even.");
        ModelProto fineModel = Parse(fine, "the fine CaiT model");
        ModelProto coarseModel = Parse(coarse, "the coarse CaiT model");
        string fineInput = SingleImageInput(fineModel.Graph, "the fine CaiT model");
        string coarseInput = SingleImageInput(coarseModel.Graph, "the coarse CaiT model");
        (int fineD, int fineSide) = TokenGeometry(fineModel, fineInput, size, "the fine CaiT model");
        (int coarseD, int coarseSide) = TokenGeometry(coarseModel, coarseInput, size / 2, "the coarse CaiT model");
        string fineTokens = fineModel.Graph.Output[0].Name;

        // The coarse model joins the fine one's graph with every name prefixed, so nothing collides.
        const string c = "uflow_coarse_";
        string coarseTokens = c + coarseModel.Graph.Output[0].Name;
        var merged = fineModel.Graph;
        foreach (var init in coarseModel.Graph.Initializer)
        {
            var copy = init.Clone();
            copy.Name = c + init.Name;
            merged.Initializer.Add(copy);
        }
        var coarseInitializers = new HashSet<string>(coarseModel.Graph.Initializer.Select(i => i.Name));
        var coarseNodes = coarseModel.Graph.Node.Select(node =>
        {
            var renamed = node.Clone();
            renamed.Name = c + node.Name;
            for (int i = 0; i < renamed.Input.Count; i++)
            {
                if (renamed.Input[i].Length > 0) renamed.Input[i] = c + renamed.Input[i];
            }
            for (int i = 0; i < renamed.Output.Count; i++)
            {
                if (renamed.Output[i].Length > 0) renamed.Output[i] = c + renamed.Output[i];
            }
            return renamed;
        }).ToList();
        foreach (var opset in coarseModel.OpsetImport)
        {
            var mine = fineModel.OpsetImport.FirstOrDefault(o => o.Domain == opset.Domain);
            if (mine is null) fineModel.OpsetImport.Add(opset.Clone());
            else mine.Version = Math.Max(mine.Version, opset.Version);
        }
        EnsureOpset(fineModel, 13); // Resize with cubic_coeff_a and align_corners needs 11; Reshape's shape input 5

        string p = "uflow_prep_";
        var nodes = Normalisation(merged, pixelsName, fineInput, p);
        nodes.AddRange(merged.Node);
        // The coarse model sees the normalised fine input downsampled (METHOD.md A.2.1, pitfall 9).
        merged.Initializer.Add(OnnxTensors.Float(p + "half", [4], [1f, 1f, 0.5f, 0.5f]));
        var resize = OnnxNodes.Node("Resize", [fineInput, "", p + "half"], [c + coarseInput],
            OnnxAttributes.String("mode", "cubic"), OnnxAttributes.Float("cubic_coeff_a", -0.75f),
            OnnxAttributes.String("coordinate_transformation_mode", "align_corners"));
        nodes.Add(resize);
        nodes.AddRange(coarseNodes);
        // Tokens [B, N, D] → [B, D, N] → maps [B, D, side, side] (map[b, d, i, j] = tokens[b, i·side + j, d]).
        foreach (var (tokens, d, side, name) in new[] { (fineTokens, fineD, fineSide, "fine"), (coarseTokens, coarseD, coarseSide, "coarse") })
        {
            merged.Initializer.Add(OnnxTensors.Int64($"{p}{name}_map_shape", [4], [0, d, side, side]));
            var transpose = OnnxNodes.Node("Transpose", [tokens], [$"{p}{name}_dn"]);
            transpose.Attribute.Add(OnnxAttributes.Ints("perm", [0, 2, 1]));
            nodes.Add(transpose);
            nodes.Add(OnnxNodes.Node("Reshape", [$"{p}{name}_dn", $"{p}{name}_map_shape"], [$"{p}{name}_map"]));
        }
        merged.ValueInfo.Clear();
        int[][] shapes = [[fineD, fineSide, fineSide], [coarseD, coarseSide, coarseSide]];
        return Finish(fineModel, nodes, pixelsName, size, size, [$"{p}fine_map", $"{p}coarse_map"], shapes, outputName, p);
    }

    // Runs a token model once on a zero image: D and the side √N of its tokens [1, N, D].
    private static (int D, int Side) TokenGeometry(ModelProto model, string input, int size, string sourceName)
    {
        if (model.Graph.Output.Count != 1)
            throw new ArgumentException($"{sourceName} must have one output, tokens [B, N, D]; it has {model.Graph.Output.Count}.");
        string output = model.Graph.Output[0].Name;
        int[] shape = MapShapesOfRank(model, input, [output], size, size, sourceName, rank: 3)[0];
        int side = (int)Math.Round(Math.Sqrt(shape[0]));
        if (side * side != shape[0])
            throw new ArgumentException($"{sourceName} gives {shape[0]} tokens, not a square grid of patches.");
        return (shape[1], side);
    }

    /// <summary>Parses ONNX bytes, with an error naming the source when they are not a model.</summary>
    internal static ModelProto Parse(byte[] bytes, string sourceName)
    {
        try
        {
            var model = ModelProto.Parser.ParseFrom(bytes);
            if (model.Graph is null || model.Graph.Node.Count == 0)
                throw new ArgumentException($"'{sourceName}' is not an ONNX model: it has no graph.");
            return model;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ArgumentException($"'{sourceName}' is not an ONNX model: {e.Message}", e);
        }
    }

    private static void EnsureOpset(ModelProto model, long minimum)
    {
        var opset = model.OpsetImport.FirstOrDefault(o => string.IsNullOrEmpty(o.Domain));
        if (opset is null) model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = minimum });
        else if (opset.Version < minimum) opset.Version = minimum; // Reshape with allowzero semantics unchanged since 5; Concat since 4
    }

    // Runs the backbone once on a black image with the chosen layers as outputs and reads their shapes.
    private static int[][] MapShapes(ModelProto model, string input, IReadOnlyList<string> layers, int height, int width, string sourceName)
        => MapShapesOfRank(model, input, layers, height, width, sourceName, rank: 4);

    // The shapes (batch dimension dropped) of the given values for a 1×3×height×width input; each must have the rank given.
    private static int[][] MapShapesOfRank(ModelProto model, string input, IReadOnlyList<string> layers, int height, int width, string sourceName, int rank)
    {
        var probe = model.Clone();
        probe.Graph.Output.Clear();
        foreach (string layer in layers) probe.Graph.Output.Add(new ValueInfoProto { Name = layer });
        using var options = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount };
        InferenceSession session;
        try
        {
            session = new InferenceSession(probe.ToByteArray(), options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ArgumentException($"'{sourceName}' cannot be loaded by ONNX Runtime: {e.Message}", e);
        }
        using (session)
        {
            var pixels = new float[3 * height * width];
            using var value = OrtValue.CreateTensorValueFromMemory(pixels, [1, 3, height, width]);
            try
            {
                using var results = session.Run(new RunOptions(), [input], [value], layers.ToArray());
                var shapes = new int[layers.Count][];
                for (int i = 0; i < layers.Count; i++)
                {
                    long[] shape = results[i].GetTensorTypeAndShape().Shape;
                    if (shape.Length != rank || shape[0] != 1)
                        throw new ArgumentException($"'{sourceName}': output '{layers[i]}' is [{string.Join(", ", shape)}], not " +
                            (rank == 4 ? "a feature map [1, C, H, W]." : "tokens [1, N, D]."));
                    shapes[i] = shape.Skip(1).Select(d => (int)d).ToArray();
                }
                return shapes;
            }
            catch (OnnxRuntimeException e)
            {
                throw new ArgumentException($"'{sourceName}' fails on a {width}x{height} image: {e.Message}", e);
            }
        }
    }
}

/// <summary>A backbone graph prepared by <see cref="BackboneGraph.Prepare"/>.</summary>
/// <param name="Model">The ONNX bytes.</param>
/// <param name="Scales">(C, H, W) of each exposed map, in order.</param>
public sealed record PreparedBackbone(byte[] Model, IReadOnlyList<(int Channels, int Height, int Width)> Scales);
