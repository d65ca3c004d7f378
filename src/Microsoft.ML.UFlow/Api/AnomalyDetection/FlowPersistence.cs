using Microsoft.ML.UFlow.Api.Persistence;
using Microsoft.ML.UFlow.Flows;

namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>
/// Saves a <see cref="UShapedFlow"/> as its configuration (JSON) and its trainable parameters (one little-endian float32
/// entry, in <see cref="UShapedFlow.Parameters"/> order, with names and sizes listed for checking). The fixed permutations
/// are re-drawn from the saved seed, exactly as at construction.
/// </summary>
internal static class FlowPersistence
{
    private sealed class ConfigDto
    {
        public int[][] Scales { get; set; } = [];
        public int FlowSteps { get; set; }
        public double SubnetChannelsRatio { get; set; }
        public float AffineClamp { get; set; }
        public bool FeatureLayerNorm { get; set; }
        public ulong Seed { get; set; }
        public List<string> Parameters { get; set; } = [];
        public List<int> ParameterSizes { get; set; } = [];
    }

    public static void Save(ModelSaveContext context, UShapedFlow flow)
    {
        var c = flow.Config;
        context.WriteJson("flow.json", new ConfigDto
        {
            Scales = c.Scales.Select(s => new[] { s.Channels, s.Height, s.Width }).ToArray(),
            FlowSteps = c.FlowSteps,
            SubnetChannelsRatio = c.SubnetChannelsRatio,
            AffineClamp = c.AffineClamp,
            FeatureLayerNorm = c.FeatureLayerNorm,
            Seed = c.Seed,
            Parameters = flow.Parameters.Select(p => p.Name).ToList(),
            ParameterSizes = flow.Parameters.Select(p => p.Value.Length).ToList(),
        });
        var all = new float[flow.Parameters.Sum(p => p.Value.Length)];
        int offset = 0;
        foreach (var p in flow.Parameters)
        {
            p.Value.Span.CopyTo(all.AsSpan(offset));
            offset += p.Value.Length;
        }
        context.WriteFloats("flow_weights.bin", all);
    }

    public static UShapedFlow Load(ModelLoadContext context)
    {
        var dto = context.ReadJson<ConfigDto>("flow.json");
        var config = new UFlowConfig(dto.Scales.Select(s => new FlowScale(s[0], s[1], s[2])))
        {
            FlowSteps = dto.FlowSteps,
            SubnetChannelsRatio = dto.SubnetChannelsRatio,
            AffineClamp = dto.AffineClamp,
            FeatureLayerNorm = dto.FeatureLayerNorm,
            Seed = dto.Seed,
        };
        var flow = new UShapedFlow(config);
        var names = flow.Parameters.Select(p => p.Name).ToList();
        if (!names.SequenceEqual(dto.Parameters) || !flow.Parameters.Select(p => p.Value.Length).SequenceEqual(dto.ParameterSizes))
        {
            throw new ModelFormatException($"'{context.FilePath}', entry '{context.Folder}': the saved flow parameters do not match the flow built from its configuration ({config}).");
        }
        var all = context.ReadFloats("flow_weights.bin", flow.Parameters.Sum(p => p.Value.Length));
        int offset = 0;
        foreach (var p in flow.Parameters)
        {
            all.AsSpan(offset, p.Value.Length).CopyTo(p.Value.Span);
            offset += p.Value.Length;
        }
        return flow;
    }
}
