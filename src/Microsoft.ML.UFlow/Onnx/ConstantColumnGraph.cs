using Google.Protobuf;
using Onnx;

namespace Microsoft.ML.UFlow.Onnx;

/// <summary>
/// A tiny ONNX graph whose output is a constant vector: run by a stock <c>OnnxTransformer</c>, it adds a column that
/// carries a stateless step's settings in every row and is saved with the model.
/// </summary>
internal static class ConstantColumnGraph
{
    /// <summary>
    /// A graph with input <paramref name="inputName"/> (float32, <paramref name="inputLength"/> values; read by nothing,
    /// ML.NET needs an input to run a graph on) and output <paramref name="outputName"/> = <paramref name="values"/>.
    /// </summary>
    public static byte[] Build(string inputName, long inputLength, string outputName, float[] values, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "Microsoft.ML.UFlow", ProducerVersion = FlowGraphParts.LibraryVersion };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        var graph = new GraphProto { Name = "constant_" + outputName };
        graph.Input.Add(OnnxNodes.FloatValue(inputName, [inputLength]));
        graph.Node.Add(OnnxNodes.Node("Constant", [], [outputName],
            OnnxAttributes.Tensor("value", OnnxTensors.Float(outputName + "_value", [values.Length], values))));
        graph.Output.Add(OnnxNodes.FloatValue(outputName, [values.Length]));
        model.Graph = graph;
        if (metadata is not null)
        {
            foreach (var (key, value) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }
        return model.ToByteArray();
    }
}
