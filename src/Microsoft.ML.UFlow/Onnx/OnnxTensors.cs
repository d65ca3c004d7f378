using Onnx;

namespace Microsoft.ML.UFlow.Onnx;

/// <summary>Builds ONNX <c>TensorProto</c> constants (initializers and <c>Constant</c> values).</summary>
internal static class OnnxTensors
{
    /// <summary>A float32 tensor of <paramref name="dims"/> holding <paramref name="values"/> (row-major).</summary>
    public static TensorProto Float(string name, long[] dims, float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.Add(dims);
        t.FloatData.Add(values);
        return t;
    }

    /// <summary>An int64 tensor of <paramref name="dims"/> holding <paramref name="values"/> (row-major).</summary>
    public static TensorProto Int64(string name, long[] dims, long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(dims);
        t.Int64Data.Add(values);
        return t;
    }
}
