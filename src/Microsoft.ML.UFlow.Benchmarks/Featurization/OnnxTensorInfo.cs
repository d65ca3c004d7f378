using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace Microsoft.ML.UFlow.Benchmarks.Featurization;

/// <summary>The name, element type (null when the node is not a tensor) and dimensions (-1 = dynamic) of a model input or output.</summary>
internal sealed record OnnxTensorInfo(string Name, TensorElementType? ElementType, long[] Dimensions)
{
    /// <summary>Reads ONNX Runtime's metadata of the node called <paramref name="name"/>.</summary>
    public static OnnxTensorInfo From(string name, NodeMetadata metadata) =>
        metadata.IsTensor
            ? new OnnxTensorInfo(name, metadata.ElementDataType, metadata.Dimensions.Select(d => (long)d).ToArray())
            : new OnnxTensorInfo(name, null, []);

    /// <summary>Whether the node is a float32 tensor (the only kind the featurizers feed or read).</summary>
    public bool IsFloatTensor => ElementType == TensorElementType.Float;

    /// <summary>The shape as text, dynamic dimensions shown as '?' (or "(not a tensor)").</summary>
    public string ShapeText => ElementType is null
        ? "(not a tensor)"
        : "[" + string.Join(", ", Dimensions.Select(d => d < 0 ? "?" : d.ToString(CultureInfo.InvariantCulture))) + "]";

    /// <summary>"name [dims]", as listed in error messages.</summary>
    public override string ToString() => $"{Name} {ShapeText}";
}
