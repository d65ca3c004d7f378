using System.Text;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// A <see cref="CsFlowTorchTrainingState"/> on disk, so that a long CS-Flow training on TorchSharp can stop and
/// continue later exactly as if it had run through (v1 <c>CsFlowTrainingCheckpoint</c>'s semantics).
/// Versioned little-endian binary: magic <c>CSFLOWT1</c>, format version, the trainer settings the state depends on,
/// the architecture, the progress and a summary of the training features, the state dictionary (name, shape, float32
/// values per entry, <see cref="CsFlowStateDictionary"/>'s names), Adam's step count and moments per parameter name (<see cref="HeldScalarAdam.WriteState"/>),
/// an end marker. Saves are atomic; the file is about three times the model's size.
/// </summary>
internal static class CsFlowTorchCheckpoint
{
    /// <summary>The format version this library writes (and the newest it reads).</summary>
    public const int FormatVersion = 1;

    private const int MaxEntries = 1 << 20;
    private const int MaxRank = 8;
    private static readonly byte[] Magic = "CSFLOWT1"u8.ToArray();
    private static readonly byte[] EndMarker = "ENDCKPT!"u8.ToArray();

    /// <summary>Writes <paramref name="state"/>, trained with <paramref name="trainer"/>'s settings, to <paramref name="path"/> atomically.</summary>
    public static void Save(CsFlowTorchTrainer trainer, CsFlowTorchTrainingState state, string path)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(state);
        AtomicFile.Write(path, stream => Write(trainer.Options, state, stream));
    }

    /// <summary>
    /// Reads a checkpoint to continue with <paramref name="trainer"/> (on its device), whose settings must be those it
    /// was made with (learning rate, Adam's β, ε and weight decay, clipping, batch size, shuffle seed, hidden width,
    /// kernel sizes, clamp, and the channel count when the trainer's is set); the number of epochs may grow.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is truncated or corrupt, or was written by a newer version.</exception>
    /// <exception cref="ArgumentException">The trainer's settings differ from the checkpoint's.</exception>
    public static CsFlowTorchTrainingState Load(string path, CsFlowTorchTrainer trainer)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(trainer);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(stream, path, trainer);
    }

    private static void Write(CsFlowTrainerOptions o, CsFlowTorchTrainingState state, Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(FormatVersion);
        w.Write(o.LearningRate);
        w.Write(o.Beta1);
        w.Write(o.Beta2);
        w.Write(o.AdamEpsilon);
        w.Write(o.WeightDecay);
        w.Write(o.GradientClipNorm);
        w.Write(o.BatchSize);
        w.Write(o.ShuffleSeed);
        CsFlowNetworkOptions n = state.Module.Options;
        w.Write(n.Channels);
        w.Write(n.HiddenChannels);
        w.Write(n.KernelSizes.Length);
        foreach (int k in n.KernelSizes) w.Write(k);
        w.Write(n.Alpha);
        w.Write(n.Seed);
        w.Write(state.CompletedEpochs);
        w.Write(state.SampleCount);
        w.Write(state.DataFingerprint is not null);
        state.DataFingerprint?.Write(w);
        IReadOnlyDictionary<string, StateTensor> weights = CsFlowStateDictionary.From(state.Module);
        w.Write(weights.Count);
        foreach ((string name, StateTensor entry) in weights.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            w.Write(name);
            w.Write(entry.Shape.Length);
            foreach (int d in entry.Shape) w.Write(d);
            FlowBinaryReader.WriteFloats(w, entry.Values);
        }
        state.Optimizer.WriteState(w, ParameterNames(state));
        w.Write(EndMarker);
    }

    private static CsFlowTorchTrainingState Read(Stream stream, string source, CsFlowTorchTrainer trainer)
    {
        InvalidDataException Bad(string why) => new($"'{source}' is not a readable TorchSharp CS-Flow training checkpoint: {why}.");
        using var r = new FlowBinaryReader(stream, Bad);
        r.ReadSignatureAndVersion(Magic, "it does not start with the checkpoint signature", FormatVersion, version => $"The TorchSharp CS-Flow training checkpoint '{source}' has format version {version}, newer than version {FormatVersion} that this library reads; update Microsoft.ML.UFlow to continue it.");
        CsFlowTrainerOptions o = trainer.Options;
        CheckpointSettings.RequireSame(source, "learning rate", r.ReadDouble(), o.LearningRate, "trainer");
        CheckpointSettings.RequireSame(source, "Adam β1", r.ReadDouble(), o.Beta1, "trainer");
        CheckpointSettings.RequireSame(source, "Adam β2", r.ReadDouble(), o.Beta2, "trainer");
        CheckpointSettings.RequireSame(source, "Adam ε", r.ReadDouble(), o.AdamEpsilon, "trainer");
        CheckpointSettings.RequireSame(source, "weight decay", r.ReadDouble(), o.WeightDecay, "trainer");
        CheckpointSettings.RequireSame(source, "gradient clipping norm", r.ReadDouble(), o.GradientClipNorm, "trainer");
        CheckpointSettings.RequireSame(source, "batch size", r.ReadInt32(), o.BatchSize, "trainer");
        CheckpointSettings.RequireSame(source, "shuffle seed", r.ReadUInt64(), o.ShuffleSeed, "trainer");
        var network = new CsFlowNetworkOptions
        {
            Channels = r.ReadInt32("channels", 2, 1 << 20),
            HiddenChannels = r.ReadInt32("hidden width", 1, 1 << 20),
        };
        int blocks = r.ReadInt32("the number of blocks", 1, 1024);
        network.KernelSizes = new int[blocks];
        for (int k = 0; k < blocks; k++) network.KernelSizes[k] = r.ReadInt32("a kernel size", 1, 1023);
        network.Alpha = r.ReadSingle();
        network.Seed = r.ReadUInt64();
        try
        {
            network.Validate();
        }
        catch (ArgumentException e)
        {
            throw Bad(e.Message);
        }
        if (o.Network.Channels != 0) CheckpointSettings.RequireSame(source, "channel count", network.Channels, o.Network.Channels, "trainer");
        CheckpointSettings.RequireSame(source, "hidden width", network.HiddenChannels, o.Network.HiddenChannels, "trainer");
        CheckpointSettings.RequireSame(source, "kernel sizes", string.Join(", ", network.KernelSizes), string.Join(", ", o.Network.KernelSizes), "trainer");
        CheckpointSettings.RequireSame(source, "clamp α", network.Alpha, o.Network.Alpha, "trainer");
        int completed = r.ReadInt32("completed epochs", 0, int.MaxValue);
        int samples = r.ReadInt32("sample count", 0, int.MaxValue);
        TrainingDataFingerprint? data = r.ReadBoolean() ? TrainingDataFingerprint.Read(r) : null;
        if (completed > 0 && samples == 0) throw Bad($"{completed} epochs are recorded over no samples");

        var weights = new Dictionary<string, StateTensor>(StringComparer.Ordinal);
        int entries = r.ReadInt32("the number of state entries", 1, MaxEntries);
        for (int i = 0; i < entries; i++)
        {
            string name = r.ReadString("a state entry's name", 1024);
            int[] shape = new int[r.ReadInt32($"the rank of '{name}'", 0, MaxRank)];
            long count = 1;
            for (int d = 0; d < shape.Length; d++)
            {
                shape[d] = r.ReadInt32($"a dimension of '{name}'", 0, int.MaxValue);
                count *= shape[d];
                if (count > int.MaxValue) throw Bad($"'{name}' claims more than {int.MaxValue} values");
            }
            r.Require(4 * count, $"the values of '{name}'");
            var values = new float[count];
            r.ReadFloats(values, $"the values of '{name}'");
            if (!weights.TryAdd(name, new StateTensor(shape, values))) throw Bad($"'{name}' appears twice");
        }
        // The values are in the file; a corrupted architecture must not make the module (allocated before the entries are
        // matched to it) larger than they are.
        long expected = CsFlowModule.CountParameters(network) + 3L * network.Channels * blocks;
        long held = weights.Values.Sum(e => (long)e.Values.Length);
        if (held != expected) throw Bad($"its state dictionary holds {held} values but its architecture (C = {network.Channels}, hidden {network.HiddenChannels}, kernels {string.Join(", ", network.KernelSizes)}) needs {expected}");
        CsFlowModule module;
        try
        {
            module = CsFlowStateDictionary.ToModule(weights, network, trainer.Device);
        }
        catch (ArgumentException e)
        {
            throw Bad(e.Message);
        }
        CsFlowTorchTrainingState state = trainer.Start(module);
        try
        {
            state.Optimizer.ReadState(r, ParameterNames(state));
            if (!r.ReadBytes(EndMarker.Length, "the end marker").AsSpan().SequenceEqual(EndMarker)) throw Bad("the end marker is missing");
            state.CompletedEpochs = completed;
            state.SampleCount = samples;
            state.DataFingerprint = data;
            return state;
        }
        catch
        {
            state.Dispose();
            throw;
        }
    }

    /// <summary>The module's parameter names in <c>parameters()</c> order, the optimiser's order.</summary>
    private static string[] ParameterNames(CsFlowTorchTrainingState state)
    {
        string[] names = state.Module.named_parameters().Select(p => p.name).ToArray();
        if (names.Length != state.Optimizer.Parameters.Count) throw new InvalidOperationException($"Adam holds {state.Optimizer.Parameters.Count} parameters for the module's {names.Length}.");
        return names;
    }
}
