using System.Text;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Data;

namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>
/// A trained CS-Flow: the network, plus free-form metadata (e.g. the backbone and input size the features came from).
/// Scores features (METHOD.md C.4) and saves/loads itself bit for bit.
/// </summary>
/// <remarks>Scoring reuses the network's buffers: use one model per thread.</remarks>
public sealed class CsFlowModel
{
    /// <summary>Wraps a network (not copied) and metadata (copied).</summary>
    public CsFlowModel(CsFlowNetwork network, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Network = network ?? throw new ArgumentNullException(nameof(network));
        Metadata = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal);
    }

    /// <summary>The flow.</summary>
    public CsFlowNetwork Network { get; }

    /// <summary>Free-form key/value metadata saved with the model.</summary>
    public Dictionary<string, string> Metadata { get; }

    /// <summary>Image scores (mean z²/2 over all latent values, per sample) of a batch of three-scale features.</summary>
    public double[] ScoreImages(IReadOnlyList<Tensor> features) => CsFlowScoring.ImageScores(Network.Forward(features).Latents);

    /// <summary>
    /// Image scores and localisation maps (channel-mean z² of the finest scale, bilinearly upsampled to
    /// <paramref name="mapHeight"/>×<paramref name="mapWidth"/>; N×1×H×W) of a batch of three-scale features.
    /// </summary>
    public (double[] ImageScores, Tensor Maps) Score(IReadOnlyList<Tensor> features, int mapHeight, int mapWidth)
    {
        IReadOnlyList<Tensor> z = Network.Forward(features).Latents;
        return (CsFlowScoring.ImageScores(z), CsFlowScoring.LocalizationMap(z[0], mapHeight, mapWidth));
    }

    /// <summary>Writes the model to a file atomically (temporary file in the same folder, then rename).</summary>
    public void Save(string path) => AtomicFile.Write(path, Save);

    /// <summary>Writes the model to a stream (header, architecture, permutations, metadata, weights).</summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        CsFlowNetworkOptions o = Network.Options;
        w.Write(CsFlowModelFormat.Signature);
        w.Write(CsFlowModelFormat.WrittenVersion);
        w.Write(CsFlowModelFormat.MinimumReaderVersion);
        w.Write(o.Channels);
        w.Write(o.HiddenChannels);
        w.Write(o.KernelSizes.Length);
        foreach (int k in o.KernelSizes) w.Write(k);
        w.Write(o.Alpha);
        w.Write(o.Seed);
        for (int b = 0; b < Network.BlockCount; b++)
        {
            for (int s = 0; s < 3; s++)
            {
                foreach (int i in Network.Permute(b).Permutation(s)) w.Write(i);
            }
        }
        w.Write(Metadata.Count);
        foreach (var (key, value) in Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            w.Write(key);
            w.Write(value);
        }
        w.Write(Network.Parameters.Count);
        foreach (Parameter p in Network.Parameters)
        {
            w.Write(p.Name);
            w.Write(p.Value.Rank);
            foreach (int d in p.Value.Shape) w.Write(d);
            FlowBinaryReader.WriteFloats(w, p.Value.Span);
        }
        w.Write(CsFlowModelFormat.EndMarker);
    }

    /// <summary>Reads a model written by <see cref="Save(string)"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a CS-Flow model, is truncated or corrupt, or was written by a newer version.</exception>
    public static CsFlowModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        return Load(stream, path);
    }

    /// <summary>Reads a model written by <see cref="Save(Stream)"/>; <paramref name="sourceName"/> names the data in errors.</summary>
    /// <exception cref="InvalidDataException">The data is not a CS-Flow model, is truncated or corrupt, or was written by a newer version.</exception>
    public static CsFlowModel Load(Stream stream, string sourceName = "stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var r = new FlowBinaryReader(stream, why => Bad(sourceName, why));
        string signature = r.ReadString("the signature", 64);
        if (signature != CsFlowModelFormat.Signature) throw new InvalidDataException($"'{sourceName}': Not a CS-Flow model (signature '{signature}').");
        int version = r.ReadInt32();
        int minimumReader = r.ReadInt32();
        if (minimumReader > CsFlowModelFormat.ReadableVersion)
        {
            throw new InvalidDataException(
                $"'{sourceName}': the CS-Flow model was written with format version {version} and needs a reader of version {minimumReader} or newer; this library reads up to {CsFlowModelFormat.ReadableVersion}. Update the library.");
        }
        var options = new CsFlowNetworkOptions
        {
            Channels = r.ReadInt32("channels", 2, MaxChannels),
            HiddenChannels = r.ReadInt32("hidden channels", 1, MaxChannels),
        };
        int blocks = r.ReadInt32("block count", 1, MaxBlocks);
        options.KernelSizes = new int[blocks];
        for (int b = 0; b < blocks; b++) options.KernelSizes[b] = r.ReadInt32($"kernel size of block {b}", 1, MaxKernel);
        options.Alpha = r.ReadSingle();
        options.Seed = r.ReadUInt64();
        long parameterValues;
        try
        {
            parameterValues = CsFlowNetwork.CountParameters(options); // validates the options too
        }
        catch (ArgumentException e)
        {
            throw Bad(sourceName, $"its architecture is invalid: {e.Message}");
        }
        // The permutations and weights the architecture implies must all be in the file before anything is allocated.
        r.Require(4 * (3L * blocks * options.Channels + parameterValues), $"the {parameterValues} weights of the architecture");
        var permutations = new IReadOnlyList<int[]>[blocks];
        for (int b = 0; b < blocks; b++)
        {
            var perScale = new int[3][];
            for (int s = 0; s < 3; s++)
            {
                perScale[s] = new int[options.Channels];
                for (int i = 0; i < options.Channels; i++) perScale[s][i] = r.ReadInt32();
            }
            permutations[b] = perScale;
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        int metaCount = r.ReadInt32("metadata count", 0, MaxMetadataEntries);
        for (int i = 0; i < metaCount; i++) metadata[r.ReadString("a metadata key")] = r.ReadString("a metadata value");

        CsFlowNetwork network;
        try
        {
            network = new CsFlowNetwork(options, permutations);
        }
        catch (ArgumentException e)
        {
            throw Bad(sourceName, $"its permutations are invalid: {e.Message}");
        }
        int count = r.ReadInt32();
        if (count != network.Parameters.Count) throw Bad(sourceName, $"it holds {count} parameter tensors but its architecture has {network.Parameters.Count}");
        foreach (Parameter p in network.Parameters)
        {
            string name = r.ReadString("a parameter name", 4096);
            if (name != p.Name) throw Bad(sourceName, $"expected parameter '{p.Name}' but found '{name}'");
            int rank = r.ReadInt32();
            if (rank != p.Value.Rank) throw Bad(sourceName, $"parameter '{name}' has rank {rank}, expected {p.Value.Rank}");
            var shape = new int[rank];
            for (int i = 0; i < rank; i++) shape[i] = r.ReadInt32();
            if (!p.Value.SameShape(shape)) throw Bad(sourceName, $"parameter '{name}' has shape {Tensor.Format(shape)} but {p.Value} was expected");
            r.ReadFloats(p.Value.Span, $"parameter '{name}'");
        }
        if (r.ReadString("the end marker", 64) != CsFlowModelFormat.EndMarker) throw Bad(sourceName, "the end marker is missing (corrupt file)");
        return new CsFlowModel(network, metadata);
    }

    // Sane limits far above any real backbone (EfficientNet-B5 gives 304 channels, hidden 1024, kernels ≤ 5), so that
    // damaged sizes are refused before anything is allocated from them.
    private const int MaxChannels = 1 << 16;
    private const int MaxBlocks = 1000;
    private const int MaxKernel = 31;
    private const int MaxMetadataEntries = 1 << 16;

    private static InvalidDataException Bad(string source, string why) => new($"'{source}' is not a readable CS-Flow model: {why}.");
}
