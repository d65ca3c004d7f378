using System.Text;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Data;

namespace Microsoft.ML.UFlow.Flows;

/// <summary>
/// Versioned little-endian binary format of a <see cref="UShapedFlow"/>: magic <c>UFLOWNF1</c>, format version, the
/// configuration, every step's permutation and every parameter (name, shape, float32 values), then an end marker.
/// Loading restores the flow bit for bit; files written by a newer format version are refused with a clear message.
/// </summary>
public static class UShapedFlowSerializer
{
    /// <summary>The format version this library writes (and the newest it reads).</summary>
    public const int FormatVersion = 1;

    private static readonly byte[] Magic = "UFLOWNF1"u8.ToArray();
    private static readonly byte[] EndMarker = "ENDFLOW!"u8.ToArray();

    /// <summary>Writes <paramref name="flow"/> to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public static void Save(UShapedFlow flow, string path)
    {
        ArgumentNullException.ThrowIfNull(flow);
        AtomicFile.Write(path, stream => Save(flow, stream));
    }

    /// <summary>Writes <paramref name="flow"/> to <paramref name="stream"/> (left open).</summary>
    public static void Save(UShapedFlow flow, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(stream);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(FormatVersion);
        UFlowConfig c = flow.Config;
        w.Write(c.Scales.Count);
        foreach (FlowScale s in c.Scales)
        {
            w.Write(s.Channels);
            w.Write(s.Height);
            w.Write(s.Width);
        }
        w.Write(c.FlowSteps);
        w.Write(c.SubnetChannelsRatio);
        w.Write(c.AffineClamp);
        w.Write(c.FeatureLayerNorm);
        w.Write(c.Seed);
        for (int l = 0; l < flow.ScaleCount; l++)
        {
            foreach (FlowStep step in flow.Stage(l))
            {
                w.Write(step.Channels);
                foreach (int p in step.Permutation) w.Write(p);
            }
        }
        IReadOnlyList<Parameter> parameters = flow.Parameters;
        w.Write(parameters.Count);
        foreach (Parameter p in parameters)
        {
            w.Write(p.Name);
            ReadOnlySpan<int> shape = p.Value.Shape;
            w.Write(shape.Length);
            foreach (int d in shape) w.Write(d);
            FlowBinaryReader.WriteFloats(w, p.Value.Span);
        }
        w.Write(EndMarker);
    }

    /// <summary>Reads a flow saved by <see cref="Save(UShapedFlow, string)"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a flow, is truncated or corrupt, or was written by a newer version.</exception>
    public static UShapedFlow Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Load(stream, path);
    }

    /// <summary>Reads a flow from <paramref name="stream"/> (left open); <paramref name="sourceName"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">The data is not a flow, is truncated or corrupt, or was written by a newer version.</exception>
    public static UShapedFlow Load(Stream stream, string sourceName = "stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var r = new FlowBinaryReader(stream, why => Bad(sourceName, why));
        r.ReadSignatureAndVersion(Magic, "it does not start with the U-Flow flow signature", FormatVersion,
            version => $"The flow in '{sourceName}' has format version {version}, newer than version {FormatVersion} that this library reads; update Microsoft.ML.UFlow to load it.");
        int scaleCount = r.ReadInt32("scale count", 1, MaxScales);
        var scales = new FlowScale[scaleCount];
        for (int l = 0; l < scaleCount; l++)
        {
            scales[l] = new FlowScale(
                r.ReadInt32($"scale {l} channels", 1, MaxChannels),
                r.ReadInt32($"scale {l} height", 1, MaxSide),
                r.ReadInt32($"scale {l} width", 1, MaxSide));
        }
        var config = new UFlowConfig(scales)
        {
            FlowSteps = r.ReadInt32("flow steps", 1, MaxFlowSteps),
            SubnetChannelsRatio = r.ReadDouble(),
            AffineClamp = r.ReadSingle(),
            FeatureLayerNorm = r.ReadBoolean(),
            Seed = r.ReadUInt64(),
        };
        if (!double.IsFinite(config.SubnetChannelsRatio) || config.SubnetChannelsRatio <= 0 || config.SubnetChannelsRatio > MaxSubnetChannelsRatio)
        {
            throw Bad(sourceName, $"subnet channel ratio {config.SubnetChannelsRatio} is out of range (0, {MaxSubnetChannelsRatio}]");
        }
        if (!float.IsFinite(config.AffineClamp) || config.AffineClamp <= 0) throw Bad(sourceName, $"affine clamp {config.AffineClamp} is not a positive finite number");
        UFlowPlan plan;
        long parameterValues;
        try
        {
            plan = config.Plan();
            parameterValues = config.CountTrainableParameters();
        }
        catch (ArgumentException e)
        {
            throw Bad(sourceName, "its configuration is invalid: " + e.Message);
        }
        // Everything the configuration implies must be in the file before the flow (and its weights) is allocated.
        long permutationValues = 0;
        foreach (int c in plan.StageChannels) permutationValues += (long)config.FlowSteps * (c + 1);
        r.Require(4 * (permutationValues + parameterValues), $"the {parameterValues} weights of configuration {config}");
        UShapedFlow flow;
        try
        {
            flow = new UShapedFlow(config);
        }
        catch (ArgumentException e)
        {
            throw Bad(sourceName, "its configuration is invalid: " + e.Message);
        }
        for (int l = 0; l < flow.ScaleCount; l++)
        {
            foreach (FlowStep step in flow.Stage(l))
            {
                int channels = r.ReadInt32();
                if (channels != step.Channels) throw Bad(sourceName, $"step '{step.Name}' stores {channels} channels, expected {step.Channels}");
                var permutation = new int[channels];
                for (int i = 0; i < channels; i++) permutation[i] = r.ReadInt32();
                try
                {
                    step.SetPermutation(permutation);
                }
                catch (ArgumentException e)
                {
                    throw Bad(sourceName, e.Message);
                }
            }
        }
        IReadOnlyList<Parameter> parameters = flow.Parameters;
        int count = r.ReadInt32();
        if (count != parameters.Count) throw Bad(sourceName, $"it stores {count} parameters, the configuration has {parameters.Count}");
        foreach (Parameter p in parameters)
        {
            string name = r.ReadString("a parameter name", MaxNameBytes);
            if (name != p.Name) throw Bad(sourceName, $"parameter '{name}' found where '{p.Name}' was expected");
            int rank = r.ReadInt32();
            if (rank != p.Value.Rank) throw Bad(sourceName, $"parameter '{name}' has rank {rank}, expected {p.Value.Rank}");
            for (int i = 0; i < rank; i++)
            {
                int d = r.ReadInt32();
                if (d != p.Value.Shape[i]) throw Bad(sourceName, $"parameter '{name}' has dimension {i} = {d}, expected {p.Value.Shape[i]}");
            }
            r.ReadFloats(p.Value.Span, $"parameter '{name}'");
        }
        if (!r.ReadBytes(EndMarker.Length, "the end marker").AsSpan().SequenceEqual(EndMarker)) throw Bad(sourceName, "the end marker is missing");
        return flow;
    }

    // Sane limits, far above any real backbone (the largest scale has 1024 channels, the largest map 64×64 at 256 px),
    // so that damaged sizes are refused before anything is allocated from them.
    private const int MaxScales = 64;
    private const int MaxChannels = 1 << 16;
    private const int MaxSide = 1 << 15;
    private const int MaxFlowSteps = 1024;
    private const double MaxSubnetChannelsRatio = 64;
    private const int MaxNameBytes = 4096;

    private static InvalidDataException Bad(string source, string why) => new($"'{source}' is not a readable U-Flow flow: {why}.");
}
