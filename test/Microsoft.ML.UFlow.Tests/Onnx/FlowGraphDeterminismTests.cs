using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tests.Infrastructure;
using Microsoft.ML.UFlow.Tests.Training;
using ModelProto = global::Onnx.ModelProto;

namespace Microsoft.ML.UFlow.Tests.Onnx;

/// <summary>The exported bytes depend only on the configuration, the state and the options; the graphs use standard operators only.</summary>
public sealed class FlowGraphDeterminismTests
{
    // Operators of the default domain at opset 17 that the exporters may use.
    private static readonly HashSet<string> s_allowedOps =
    [
        "Slice", "Reshape", "LayerNormalization", "Conv", "Relu", "LeakyRelu", "Split", "Mul", "Div", "Add", "Tanh", "Atan", "Exp",
        "Concat", "Gather", "DepthToSpace", "ReduceSumSquare", "ReduceMax", "Shape", "Resize", "Squeeze", "Greater", "Clip",
    ];

    [Fact]
    public void UFlowBytesAreDeterministic()
    {
        var config = new UFlowConfig([new(3, 16, 16), new(8, 8, 8), new(16, 4, 4)]) { FeatureLayerNorm = true, Seed = 4 };
        var state = FlowTestModules.UFlowState(config);
        var reversed = state.Reverse().ToDictionary(e => e.Key, e => new StateTensor(e.Value.Shape.ToArray(), e.Value.Values.ToArray()));
        var options = new FlowOnnxExportOptions { Threshold = 0.5f, AdditionalMetadata = new Dictionary<string, string> { ["b"] = "1", ["a"] = "2" } };
        var optionsReordered = new FlowOnnxExportOptions { Threshold = 0.5f, AdditionalMetadata = new Dictionary<string, string> { ["a"] = "2", ["b"] = "1" } };
        byte[] first = UFlowOnnxExporter.Export(config, state, options);
        Assert.Equal(first, UFlowOnnxExporter.Export(config, state, options));
        Assert.Equal(first, UFlowOnnxExporter.Export(config, reversed, optionsReordered));
        Assert.NotEqual(first, UFlowOnnxExporter.Export(config, state, new FlowOnnxExportOptions { Threshold = 0.25f }));
        CheckStandardOps(first);
    }

    [Fact]
    public void CsFlowBytesAreDeterministic()
    {
        var options = new CsFlowNetworkOptions { Channels = 5, HiddenChannels = 6, KernelSizes = [3, 5], Seed = 1 };
        var state = FlowTestModules.CsFlowState(options);
        var reversed = state.Reverse().ToDictionary(e => e.Key, e => e.Value);
        byte[] first = CsFlowOnnxExporter.Export(options, 8, 8, state);
        Assert.Equal(first, CsFlowOnnxExporter.Export(options, 8, 8, reversed));
        CheckStandardOps(first);
    }

    [Fact]
    public void OnnxLayerNeverReferencesTorchSharp()
    {
        string folder = Path.Combine(SharedData.RepositoryRoot, "src", "Microsoft.ML.UFlow", "Onnx");
        string[] files = Directory.GetFiles(folder, "*.cs");
        Assert.NotEmpty(files);
        foreach (string file in files) Assert.DoesNotContain("TorchSharp", File.ReadAllText(file));
    }

    private static void CheckStandardOps(byte[] model)
    {
        ModelProto proto = ModelProto.Parser.ParseFrom(model);
        foreach (var node in proto.Graph.Node)
        {
            Assert.Equal("", node.Domain);
            Assert.Contains(node.OpType, s_allowedOps);
        }
        // Value names are unique (SSA), as ONNX requires.
        var names = proto.Graph.Input.Select(i => i.Name).Concat(proto.Graph.Initializer.Select(i => i.Name)).Concat(proto.Graph.Node.SelectMany(n => n.Output)).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
    }
}
