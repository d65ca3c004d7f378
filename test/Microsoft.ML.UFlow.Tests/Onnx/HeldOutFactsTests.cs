using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Onnx;

/// <summary>The held-out and calibration facts of <c>metadata_props</c>: optional, read back exactly, refused when malformed.</summary>
public sealed class HeldOutFactsTests
{
    private static readonly Microsoft.ML.UFlow.Flows.UFlowConfig s_config = new([new(6, 8, 8), new(16, 4, 4)]) { FlowSteps = 2, Seed = 9 };

    private static FlowModelFacts Facts(Dictionary<string, string> extra)
        => FlowModelFacts.Read(UFlowOnnxExporter.Export(s_config, FlowTestModules.UFlowState(s_config), new FlowOnnxExportOptions { AdditionalMetadata = extra }));

    [Fact]
    public void Held_out_facts_and_the_calibration_are_read_back()
    {
        FlowModelFacts facts = Facts(new()
        {
            [FlowMetadataKeys.HeldOutImages] = "21",
            [FlowMetadataKeys.HeldOutLoss] = "-1234.5",
            [FlowMetadataKeys.HeldOutMeanSquare] = "1.25;0.875",
            [FlowMetadataKeys.Calibration] = "held_out_scale",
            [FlowMetadataKeys.CalibrationDivisors] = "1.25;0.875",
        });
        Assert.Equal(21, facts.HeldOut!.Images);
        Assert.Equal(-1234.5, facts.HeldOut.Loss);
        Assert.Equal([1.25, 0.875], facts.HeldOut.MeanSquarePerScale);
        Assert.Equal(LatentCalibration.HeldOutScale, facts.Calibration);
        Assert.Equal([1.25, 0.875], facts.CalibrationDivisors);

        FlowModelFacts plain = Facts([]);
        Assert.Null(plain.HeldOut);
        Assert.Equal(LatentCalibration.None, plain.Calibration);
        Assert.Null(plain.CalibrationDivisors);
    }

    [Theory]
    [InlineData(FlowMetadataKeys.Calibration, "sometimes", "calibration 'sometimes'")]
    [InlineData(FlowMetadataKeys.CalibrationDivisors, "1.25", "are not 2 positive numbers")]
    [InlineData(FlowMetadataKeys.CalibrationDivisors, "1.25;-1", "are not 2 positive numbers")]
    [InlineData(FlowMetadataKeys.HeldOutImages, "0", "held-out image count")]
    [InlineData(FlowMetadataKeys.HeldOutMeanSquare, "1;x", "not a list of numbers")]
    public void Malformed_facts_are_refused_naming_them(string key, string value, string expected)
    {
        var extra = new Dictionary<string, string>
        {
            [FlowMetadataKeys.HeldOutImages] = "4",
            [FlowMetadataKeys.HeldOutLoss] = "1",
            [FlowMetadataKeys.HeldOutMeanSquare] = "1;1",
            [FlowMetadataKeys.Calibration] = "held_out_scale",
            [FlowMetadataKeys.CalibrationDivisors] = "1;1",
        };
        extra[key] = value;
        Assert.Contains(expected, Assert.Throws<InvalidDataException>(() => Facts(extra)).Message);
    }
}
