using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Onnx;

/// <summary>Bad state dictionaries and options give an <see cref="ArgumentException"/> naming the entry and the expected shape; nothing is written.</summary>
public sealed class FlowExportErrorTests
{
    // Stage channels: coarse 16, fine 6 + 2 = 8 (C1 = 4, hidden 4, C2 = 4).
    private static readonly UFlowConfig s_config = new([new(6, 8, 8), new(16, 4, 4)]) { FlowSteps = 2, Seed = 2 };

    private static Dictionary<string, StateTensor> State() => FlowTestModules.UFlowState(s_config);

    private static ArgumentException Refused(Dictionary<string, StateTensor> state, UFlowConfig? config = null)
        => Assert.ThrowsAny<ArgumentException>(() => UFlowOnnxExporter.Export(config ?? s_config, state));

    [Fact]
    public void MissingEntryIsNamedWithItsShape()
    {
        var state = State();
        state.Remove("stage0.step1.subnet.0.weight");
        var e = Refused(state);
        Assert.Contains("no entry 'stage0.step1.subnet.0.weight'", e.Message);
        Assert.Contains("[4, 4, 1, 1]", e.Message);
        Assert.Equal("state", e.ParamName);
    }

    [Fact]
    public void MisshapedEntryNamesBothShapes()
    {
        var state = State();
        state["stage1.step0.subnet.2.bias"] = new StateTensor([15], new float[15]);
        var e = Refused(state);
        Assert.Contains("'stage1.step0.subnet.2.bias' has shape [15]", e.Message);
        Assert.Contains("needs [16]", e.Message);

        state = State();
        state["stage0.step0.global_scale"] = new StateTensor([2, 4], new float[8]);
        Assert.Contains("'stage0.step0.global_scale' has shape [2, 4] but the configuration needs [8]", Refused(state).Message);
    }

    [Fact]
    public void BrokenPermutationIsRefused()
    {
        var state = State();
        float[] perm = state["stage1.step1.perm"].Values.ToArray();
        perm[3] = perm[5];
        state["stage1.step1.perm"] = new StateTensor([16], perm);
        Assert.Contains("'stage1.step1.perm' is not a permutation of 0..15", Refused(state).Message);

        state = State();
        perm = state["stage0.step0.perm"].Values.ToArray();
        perm[0] = 0.5f;
        state["stage0.step0.perm"] = new StateTensor([8], perm);
        Assert.Contains("'stage0.step0.perm' is not a permutation", Refused(state).Message);
    }

    [Fact]
    public void NonFiniteParameterIsRefused()
    {
        var state = State();
        state["stage0.step1.global_offset"].Values[2] = float.NaN;
        var e = Refused(state);
        Assert.Contains("'stage0.step1.global_offset' holds NaN at index 2", e.Message);
    }

    [Fact]
    public void EntriesTheConfigurationDoesNotUseAreListed()
    {
        // A LayerNorm flow's state with a configuration that lacks the LayerNorm: the mismatch must not pass silently.
        var withLayerNorm = new UFlowConfig(s_config.Scales) { FlowSteps = 2, FeatureLayerNorm = true, Seed = 2 };
        var state = FlowTestModules.UFlowState(withLayerNorm);
        var e = Refused(state);
        Assert.Contains("layernorm0.bias, layernorm0.weight, layernorm1.bias, layernorm1.weight", e.Message);

        // The other way round: the LayerNorm entries are missing.
        Assert.Contains("no entry 'layernorm0.weight'; expected a tensor of shape [6, 8, 8]", Refused(State(), withLayerNorm).Message);
    }

    [Fact]
    public void InvalidOptionsAreRefused()
    {
        var state = State();
        Assert.Equal("MapSize", Assert.Throws<ArgumentOutOfRangeException>(() => UFlowOnnxExporter.Export(s_config, state, new FlowOnnxExportOptions { MapSize = 0 })).ParamName);
        Assert.Equal("Threshold", Assert.Throws<ArgumentOutOfRangeException>(() => UFlowOnnxExporter.Export(s_config, state, new FlowOnnxExportOptions { Threshold = float.NaN })).ParamName);
        Assert.Equal("InputName", Assert.Throws<ArgumentException>(() => UFlowOnnxExporter.Export(s_config, state, new FlowOnnxExportOptions { InputName = "Score" })).ParamName);
        Assert.Equal("InputName", Assert.Throws<ArgumentException>(() => UFlowOnnxExporter.Export(s_config, state, new FlowOnnxExportOptions { InputName = "Latent" })).ParamName);
    }

    [Fact]
    public void CsFlowEntriesAreCheckedByName()
    {
        var options = new CsFlowNetworkOptions { Channels = 5, HiddenChannels = 6, KernelSizes = [3, 5], Seed = 1 };
        Dictionary<string, StateTensor> State() => FlowTestModules.CsFlowState(options);

        var state = State();
        state.Remove("block1.s1.gamma2");
        Assert.Contains("CS-Flow state dictionary has no entry 'block1.s1.gamma2'; expected a tensor of shape [1]", Assert.ThrowsAny<ArgumentException>(() => CsFlowOnnxExporter.Export(options, 8, 8, state)).Message);

        state = State();
        // s2 maps C2 = 3 channels to 2·C1 = 4, so its convolutions out of the hidden layer are [4, 6, k, k]; give s1's shape instead.
        state["block1.s2.down_conv12.weight"] = new StateTensor([6, 6, 5, 5], new float[900]);
        Assert.Contains("'block1.s2.down_conv12.weight' has shape [6, 6, 5, 5] but the configuration needs [4, 6, 5, 5]", Assert.ThrowsAny<ArgumentException>(() => CsFlowOnnxExporter.Export(options, 8, 8, state)).Message);

        state = State();
        state.Remove("block0.perm2");
        Assert.Contains("no entry 'block0.perm2'; expected a tensor of shape [5]", Assert.ThrowsAny<ArgumentException>(() => CsFlowOnnxExporter.Export(options, 8, 8, state)).Message);

        var sizes = Assert.Throws<ArgumentOutOfRangeException>(() => CsFlowOnnxExporter.Export(options, 10, 8, State()));
        Assert.Contains("10x8", sizes.Message);
    }
}
