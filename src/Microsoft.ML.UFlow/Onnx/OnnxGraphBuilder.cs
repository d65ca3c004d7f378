using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Microsoft.ML.UFlow.Onnx;

/// <summary>
/// Builds one ONNX model from the protobuf classes generated from <c>onnx.proto</c> (OnnxSharp) and writes it with
/// Google.Protobuf's serializer: graph inputs and outputs with shapes (a negative dimension is the symbolic batch
/// dimension <see cref="BatchDimension"/>), float32 and int64 initializers, nodes of the standard domain with attributes,
/// and the model's <c>metadata_props</c>. Opset <see cref="Opset"/>, IR version <see cref="IrVersion"/>.
/// </summary>
/// <remarks>
/// Every value name (input, initializer, node output) is unique, as ONNX requires; names asked for twice get a numeric
/// suffix. Nothing depends on hashing or time, so the same calls in the same order give the same bytes. Not thread-safe.
/// </remarks>
internal sealed class OnnxGraphBuilder
{
    /// <summary>The opset of the default ONNX domain the graphs use (ONNX 1.12; ONNX Runtime 1.32 runs opsets up to 23).</summary>
    public const int Opset = 17;

    /// <summary>The IR version that goes with <see cref="Opset"/> (ONNX 1.12).</summary>
    public const long IrVersion = 8;

    /// <summary>The name of the symbolic batch dimension of inputs and outputs.</summary>
    public const string BatchDimension = "N";

    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);
    private readonly List<StringStringEntryProto> _metadata = [];
    private readonly HashSet<string> _metadataKeys = new(StringComparer.Ordinal);

    /// <summary>Starts an empty graph called <paramref name="graphName"/>.</summary>
    public OnnxGraphBuilder(string graphName)
    {
        ArgumentException.ThrowIfNullOrEmpty(graphName);
        _graph = new GraphProto { Name = graphName };
    }

    /// <summary>Number of nodes added so far.</summary>
    public int NodeCount => _graph.Node.Count;

    /// <summary>Number of initializers added so far.</summary>
    public int InitializerCount => _graph.Initializer.Count;

    /// <summary>Adds a float32 graph input; a negative dimension is the symbolic batch dimension.</summary>
    public string AddInput(string name, params long[] dims)
    {
        Claim(name);
        _graph.Input.Add(ValueInfo(name, TensorProto.Types.DataType.Float, dims));
        return name;
    }

    /// <summary>Declares the existing value <paramref name="name"/> a graph output of the given element type and shape.</summary>
    public void AddOutput(string name, TensorProto.Types.DataType elementType, params long[] dims)
    {
        if (!_names.Contains(name)) throw new InvalidOperationException($"Output '{name}' is not a value of the graph.");
        _graph.Output.Add(ValueInfo(name, elementType, dims));
    }

    /// <summary>Adds a float32 initializer (values row-major) and returns its name.</summary>
    public string AddInitializer(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        CheckCount(name, values.Length, dims);
        var tensor = new TensorProto { Name = Claim(name), DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        tensor.RawData = ByteString.CopyFrom(LittleEndian(MemoryMarshal.AsBytes(values)));
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>Adds an int64 initializer (values row-major) and returns its name.</summary>
    public string AddInt64Initializer(string name, ReadOnlySpan<long> values, params long[] dims)
    {
        CheckCount(name, values.Length, dims);
        var tensor = new TensorProto { Name = Claim(name), DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.AddRange(dims);
        tensor.RawData = ByteString.CopyFrom(LittleEndian(MemoryMarshal.AsBytes(values)));
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A float32 scalar constant (rank 0), shared by every use of the same value.</summary>
    public string Scalar(float value)
    {
        string key = "f:" + BitConverter.SingleToInt32Bits(value).ToString("X8", System.Globalization.CultureInfo.InvariantCulture);
        if (!_constants.TryGetValue(key, out string? name))
        {
            name = AddInitializer("const_" + _constants.Count, [value]);
            _constants.Add(key, name);
        }
        return name;
    }

    /// <summary>A 1-D float32 constant, shared by every use of the same values.</summary>
    public string Floats(params float[] values)
    {
        string key = "fs:" + string.Join(",", values.Select(v => BitConverter.SingleToInt32Bits(v).ToString("X8", System.Globalization.CultureInfo.InvariantCulture)));
        if (!_constants.TryGetValue(key, out string? name))
        {
            name = AddInitializer("const_" + _constants.Count, values, values.Length);
            _constants.Add(key, name);
        }
        return name;
    }

    /// <summary>A 1-D int64 constant, shared by every use of the same values.</summary>
    public string Int64s(params long[] values)
    {
        string key = "i:" + string.Join(",", values);
        if (!_constants.TryGetValue(key, out string? name))
        {
            name = AddInt64Initializer("const_" + _constants.Count, values, values.Length);
            _constants.Add(key, name);
        }
        return name;
    }

    /// <summary>
    /// Adds a node of the default domain with one output named after <paramref name="outputHint"/> (made unique) and
    /// returns the output's name. An empty input name marks an omitted optional input.
    /// </summary>
    public string AddNode(string opType, IReadOnlyList<string> inputs, string outputHint, params AttributeProto[] attributes)
        => AddNode(opType, inputs, [outputHint], attributes)[0];

    /// <summary>Adds a node with several outputs, named after <paramref name="outputHints"/> (made unique); returns their names.</summary>
    public string[] AddNode(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputHints, params AttributeProto[] attributes)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        foreach (string input in inputs)
        {
            if (input.Length > 0 && !_names.Contains(input)) throw new InvalidOperationException($"Node {opType}: input '{input}' is not a value of the graph.");
        }
        var outputs = new string[outputHints.Count];
        for (int i = 0; i < outputs.Length; i++) outputs[i] = Claim(outputHints[i]);
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return outputs;
    }

    /// <summary>Adds one <c>metadata_props</c> entry; keys are unique.</summary>
    public void AddMetadata(string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (!_metadataKeys.Add(key)) throw new ArgumentException($"Metadata key '{key}' is given twice.", nameof(key));
        _metadata.Add(new StringStringEntryProto { Key = key, Value = value });
    }

    /// <summary>The model: this graph, opset <see cref="Opset"/> of the default domain, the producer and the metadata.</summary>
    public ModelProto Build(string producerName, string producerVersion)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = producerName,
            ProducerVersion = producerVersion,
            Graph = _graph.Clone(),
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        model.MetadataProps.AddRange(_metadata.Select(e => e.Clone()));
        return model;
    }

    /// <summary>A name not yet used in the graph: <paramref name="hint"/> itself when free, else with a numeric suffix.</summary>
    private string Claim(string hint)
    {
        ArgumentException.ThrowIfNullOrEmpty(hint);
        string name = hint;
        for (int i = 1; !_names.Add(name); i++) name = $"{hint}_{i}";
        return name;
    }

    private static void CheckCount(string name, int count, long[] dims)
    {
        long expected = 1;
        foreach (long d in dims)
        {
            if (d < 0) throw new ArgumentException($"Initializer '{name}' has a negative dimension.", nameof(dims));
            expected *= d;
        }
        if (expected != count) throw new ArgumentException($"Initializer '{name}' of shape [{string.Join(", ", dims)}] needs {expected} values, got {count}.", nameof(dims));
    }

    // ONNX raw_data is little-endian; on a big-endian machine the bytes would have to be swapped per element.
    private static ReadOnlySpan<byte> LittleEndian(ReadOnlySpan<byte> bytes)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Writing ONNX tensors needs a little-endian machine.");
        return bytes;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType elementType, long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (long d in dims)
        {
            shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = BatchDimension } : new TensorShapeProto.Types.Dimension { DimValue = d });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elementType, Shape = shape } },
        };
    }
}
