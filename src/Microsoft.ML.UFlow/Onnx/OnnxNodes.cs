using Onnx;

namespace Microsoft.ML.UFlow.Onnx;

/// <summary>Builds ONNX nodes and value infos for editing existing graphs (backbones, exported flows); attributes come
/// from <see cref="OnnxAttributes"/>, whole new graphs from <see cref="OnnxGraphBuilder"/>.</summary>
internal static class OnnxNodes
{
    /// <summary>A node of the default domain.</summary>
    public static NodeProto Node(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = opType + "_" + string.Join("_", outputs) };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        node.Attribute.Add(attributes);
        return node;
    }

    /// <summary>A float32 value info; a negative dimension is the symbolic batch dimension <c>N</c>.</summary>
    public static ValueInfoProto FloatValue(string name, long[] dims)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() };
        foreach (long d in dims)
        {
            tensor.Shape.Dim.Add(d < 0
                ? new TensorShapeProto.Types.Dimension { DimParam = "N" }
                : new TensorShapeProto.Types.Dimension { DimValue = d });
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
