using Google.Protobuf;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tests.Training;
using ModelProto = global::Onnx.ModelProto;

namespace Microsoft.ML.UFlow.Tests.Onnx;

/// <summary>Model facts in <c>metadata_props</c>: written by the exporters, read back exactly, refused when foreign or of another format version.</summary>
public sealed class FlowModelFactsTests
{
    private static readonly UFlowConfig s_config = new([new(6, 8, 8), new(16, 4, 4)]) { FlowSteps = 2, FeatureLayerNorm = true, Seed = 9 };

    private static byte[] ExportUFlow(FlowOnnxExportOptions? options = null)
        => UFlowOnnxExporter.Export(s_config, FlowTestModules.UFlowState(s_config), options);

    [Fact]
    public void UFlowFactsRoundTrip()
    {
        float threshold = 0.73456789f;
        byte[] model = ExportUFlow(new FlowOnnxExportOptions
        {
            MapSize = 40,
            Threshold = threshold,
            AdditionalMetadata = new Dictionary<string, string> { ["uflow.training.epochs"] = "30", ["custom"] = "ä ; x" },
        });
        FlowModelFacts facts = FlowModelFacts.Read(model);
        Assert.Equal(FlowModelFacts.UFlowMethod, facts.Method);
        Assert.Equal(FlowModelFacts.CurrentFormatVersion, facts.FormatVersion);
        Assert.Equal(1, facts.FormatVersion);
        Assert.False(string.IsNullOrEmpty(facts.LibraryVersion));
        Assert.Equal(s_config.Scales, facts.Scales);
        UFlowPlan plan = s_config.Plan();
        Assert.Equal([new FlowScale(plan.LatentChannels[0], 8, 8), new FlowScale(plan.LatentChannels[1], 4, 4)], facts.Latents);
        Assert.Equal(40, facts.MapSize);
        Assert.Equal(BitConverter.SingleToInt32Bits(threshold), BitConverter.SingleToInt32Bits(facts.Threshold!.Value));
        Assert.Equal(FlowGraphInputLayout.Concatenated, facts.InputLayout);
        Assert.Equal(["Features"], facts.Inputs);
        Assert.Equal("30", facts.Properties["uflow.training.epochs"]);
        Assert.Equal("ä ; x", facts.Properties["custom"]);
        Assert.Equal("2", facts.Properties[FlowMetadataKeys.FlowSteps]);
        Assert.Equal("true", facts.Properties[FlowMetadataKeys.FeatureLayerNorm]);
        Assert.Equal("2", facts.Properties[FlowMetadataKeys.Clamp]);
        Assert.Equal("6x8x8;16x4x4", facts.Properties[FlowMetadataKeys.Scales]);

        // The same facts through ONNX Runtime's metadata map (what a loaded session exposes) and from a file.
        using (var runner = new OnnxGraphRunner(model))
        {
            FlowModelFacts viaOrt = FlowModelFacts.FromMetadata(runner.Metadata);
            Assert.Equal(facts.Properties.OrderBy(p => p.Key), viaOrt.Properties.OrderBy(p => p.Key));
        }
        string path = Path.Combine(Path.GetTempPath(), $"uflow-facts-{Guid.NewGuid():N}.onnx");
        try
        {
            File.WriteAllBytes(path, model);
            Assert.Equal(facts.Properties.OrderBy(p => p.Key), FlowModelFacts.Read(path).Properties.OrderBy(p => p.Key));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MetadataOrderIsFixedAndProducerIsSet()
    {
        byte[] model = ExportUFlow(new FlowOnnxExportOptions { AdditionalMetadata = new Dictionary<string, string> { ["z"] = "1", ["a"] = "2" } });
        ModelProto proto = ModelProto.Parser.ParseFrom(model);
        Assert.Equal(
            [FlowMetadataKeys.Method, FlowMetadataKeys.FormatVersion, FlowMetadataKeys.LibraryVersion, FlowMetadataKeys.Scales, FlowMetadataKeys.Latents,
             FlowMetadataKeys.MapSize, FlowMetadataKeys.InputLayout, FlowMetadataKeys.Inputs, FlowMetadataKeys.FlowSteps, FlowMetadataKeys.SubnetChannelsRatio,
             FlowMetadataKeys.Clamp, FlowMetadataKeys.FeatureLayerNorm, "a", "z"],
            proto.MetadataProps.Select(e => e.Key));
        Assert.Equal("Microsoft.ML.UFlow", proto.ProducerName);
        Assert.Equal(FlowModelFacts.Read(model).LibraryVersion, proto.ProducerVersion);
        Assert.Equal(8, proto.IrVersion);
        Assert.Equal(17, Assert.Single(proto.OpsetImport).Version);
        Assert.Equal("", proto.OpsetImport[0].Domain);
    }

    [Fact]
    public void CsFlowFacts()
    {
        var options = new CsFlowNetworkOptions { Channels = 5, HiddenChannels = 6, KernelSizes = [3, 5], Seed = 1 };
        byte[] model = CsFlowOnnxExporter.Export(options, 8, 4, FlowTestModules.CsFlowState(options),
            new FlowOnnxExportOptions { InputLayout = FlowGraphInputLayout.PerScale, InputName = "F", Threshold = float.PositiveInfinity });
        FlowModelFacts facts = FlowModelFacts.Read(model);
        Assert.Equal(FlowModelFacts.CsFlowMethod, facts.Method);
        Assert.Equal([new FlowScale(5, 8, 4), new FlowScale(5, 4, 2), new FlowScale(5, 2, 1)], facts.Scales);
        Assert.Equal(facts.Scales, facts.Latents);
        Assert.Equal(256, facts.MapSize);
        Assert.Equal(float.PositiveInfinity, facts.Threshold);
        Assert.Equal(FlowGraphInputLayout.PerScale, facts.InputLayout);
        Assert.Equal(["F0", "F1", "F2"], facts.Inputs);
        Assert.Equal("6", facts.Properties[FlowMetadataKeys.HiddenChannels]);
        Assert.Equal("3;5", facts.Properties[FlowMetadataKeys.KernelSizes]);
        Assert.Equal("3", facts.Properties[FlowMetadataKeys.Clamp]);
        using var runner = new OnnxGraphRunner(model);
        Assert.Equal(["F0", "F1", "F2"], runner.InputNames);
        Assert.Equal(["Latent0", "Latent1", "Latent2", "AnomalyMap", "Score", "PredictedLabel"], runner.OutputNames);
    }

    [Fact]
    public void NoThresholdMeansNoThresholdFact()
    {
        FlowModelFacts facts = FlowModelFacts.Read(ExportUFlow());
        Assert.Null(facts.Threshold);
        Assert.False(facts.Properties.ContainsKey(FlowMetadataKeys.Threshold));
    }

    [Fact]
    public void AnotherFormatVersionIsRefusedWithBothVersionsNamed()
    {
        ModelProto proto = ModelProto.Parser.ParseFrom(ExportUFlow());
        proto.MetadataProps.Single(e => e.Key == FlowMetadataKeys.FormatVersion).Value = "2";
        proto.MetadataProps.Single(e => e.Key == FlowMetadataKeys.LibraryVersion).Value = "9.9.9";
        var e = Assert.Throws<InvalidDataException>(() => FlowModelFacts.Read(proto.ToByteArray()));
        Assert.Contains("format version 2", e.Message);
        Assert.Contains("9.9.9", e.Message);
        Assert.Contains("reads format version 1", e.Message);
        Assert.Contains("Retrain", e.Message);
    }

    [Fact]
    public void ForeignOrBrokenFilesAreRefused()
    {
        var notOnnx = Assert.Throws<InvalidDataException>(() => FlowModelFacts.Read([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]));
        Assert.Contains("not an ONNX model", notOnnx.Message);

        byte[] full = ExportUFlow();
        var truncated = Assert.Throws<InvalidDataException>(() => FlowModelFacts.Read(full.AsSpan(0, full.Length / 2).ToArray()));
        Assert.Contains("not an ONNX model", truncated.Message);

        ModelProto proto = ModelProto.Parser.ParseFrom(full);
        proto.MetadataProps.Clear();
        var foreign = Assert.Throws<InvalidDataException>(() => FlowModelFacts.Read(proto.ToByteArray()));
        Assert.Contains("not a flow graph exported by Microsoft.ML.UFlow", foreign.Message);
        Assert.Contains(FlowMetadataKeys.Method, foreign.Message);

        var badShapes = new Dictionary<string, string>(FlowModelFacts.Read(full).Properties) { [FlowMetadataKeys.Scales] = "6x8" };
        var e = Assert.Throws<InvalidDataException>(() => FlowModelFacts.FromMetadata(badShapes, "'m.onnx'"));
        Assert.Contains("'m.onnx'", e.Message);
        Assert.Contains(FlowMetadataKeys.Scales, e.Message);
    }

    [Fact]
    public void ReservedAdditionalKeysAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => ExportUFlow(new FlowOnnxExportOptions { AdditionalMetadata = new Dictionary<string, string> { [FlowMetadataKeys.Threshold] = "1" } }));
        Assert.Contains(FlowMetadataKeys.Threshold, e.Message);
    }
}
