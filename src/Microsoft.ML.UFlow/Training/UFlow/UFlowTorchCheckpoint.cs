using System.Text;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// The full state of a <see cref="UFlowTorchTrainer"/> between epochs, with v1's <c>UFlowTrainingCheckpoint</c>
/// semantics, so that a long training can stop and continue later exactly as if it had run through: the flow's
/// configuration and state dictionary, Adam's state (<see cref="HeldScalarAdam"/>: step count and both moments per
/// parameter), the completed epochs, the early-stopping state and, when kept, the best epoch's weights, and a
/// summary of the training features so that other data of the same shape is refused.
/// </summary>
/// <remarks>
/// Versioned little-endian binary: magic <c>UFLOWTS1</c>, format version, the training settings the state depends on
/// (learning rate, schedule, weight decay, batch size, shuffle seed), the flow configuration, the progress and the feature
/// summary, the state dictionary (name, shape, float32 values per entry, as <see cref="UFlowStateDictionary"/>), the
/// optimiser (step count, then name and both moments per parameter, <see cref="HeldScalarAdam.WriteState"/>), the best
/// weights, an end marker. Saves are atomic (temporary file, then rename). The device is not saved: a checkpoint written
/// on a GPU continues on the CPU and the other way round. Format version 3 adds, after the feature summary, the images
/// held out of the training data (<see cref="UFlowTorchTrainer.HeldOut"/>: image count, held-out indices, their feature
/// summary); version 2, which has no such section, is read as a run that held out nothing. Format version 1 held
/// TorchSharp's own <c>optim.Adam</c> state dictionary instead; it is refused with a message that says so.
/// </remarks>
internal static class UFlowTorchCheckpoint
{
    /// <summary>The format version this library writes (it also reads version 2, without held-out images).</summary>
    public const int FormatVersion = 3;

    /// <summary>The oldest format version this library reads.</summary>
    private const int OldestReadableVersion = 2;

    /// <summary>The largest subnet width ratio a checkpoint may claim (the official flows use 1).</summary>
    private const double MaxSubnetChannelsRatio = 64;

    private static readonly byte[] Magic = "UFLOWTS1"u8.ToArray();
    private static readonly byte[] EndMarker = "ENDCKPT!"u8.ToArray();

    /// <summary>Writes the state of <paramref name="trainer"/> to <paramref name="path"/> atomically.</summary>
    /// <exception cref="InvalidOperationException">The flow holds the best epoch's weights restored at the end of
    /// <see cref="UFlowTorchTrainer.Train"/>, not the last epoch's, so continuing from it would not be the same run.</exception>
    public static void Save(UFlowTorchTrainer trainer, string path)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (trainer.BestWeightsRestored)
        {
            throw new InvalidOperationException("The flow holds the best epoch's weights (restored at the end of training), not the last epoch's; save checkpoints from EpochCompleted, or train with RestoreBestWeights = false.");
        }
        AtomicFile.Write(path, stream => Write(trainer, stream));
    }

    /// <summary>
    /// Reads a checkpoint and returns a trainer (on <see cref="UFlowTorchTrainingOptions.Device"/>) that continues it with
    /// <paramref name="options"/>, which must have the settings the state depends on (learning rate, schedule, weight
    /// decay, batch size, seed) as saved; the number of epochs may grow, and the micro-batch size, device, callbacks and
    /// patience may change.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is truncated or corrupt, or was written by a newer version.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> differ from the checkpoint's settings.</exception>
    public static UFlowTorchTrainer Load(string path, UFlowTorchTrainingOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(stream, path, options);
    }

    private static void Write(UFlowTorchTrainer trainer, Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(FormatVersion);
        UFlowTorchTrainingOptions o = trainer.Options;
        w.Write(o.LearningRate);
        w.Write(o.LearningRateEndFactor);
        w.Write(o.LearningRateTotalIters);
        w.Write(o.WeightDecay);
        w.Write(o.BatchSize);
        w.Write(o.Seed);
        UFlowConfig config = trainer.Module.Config;
        w.Write(config.Scales.Count);
        foreach (FlowScale s in config.Scales)
        {
            w.Write(s.Channels);
            w.Write(s.Height);
            w.Write(s.Width);
        }
        w.Write(config.FlowSteps);
        w.Write(config.SubnetChannelsRatio);
        w.Write(config.AffineClamp);
        w.Write(config.FeatureLayerNorm);
        w.Write(config.Seed);
        w.Write(trainer.CompletedEpochs);
        w.Write(trainer.SampleCount);
        w.Write(trainer.DataFingerprint is not null);
        trainer.DataFingerprint?.Write(w);
        HeldOutSplit? heldOut = trainer.HeldOut;
        w.Write(heldOut is not null);
        if (heldOut is not null)
        {
            w.Write(heldOut.Count);
            w.Write(heldOut.HeldOut.Length);
            foreach (int i in heldOut.HeldOut) w.Write(i);
            w.Write(trainer.HeldOutData is not null);
            trainer.HeldOutData?.Write(w);
        }
        UFlowEarlyStoppingState stopping = trainer.EarlyStopping;
        w.Write(stopping.BestMetric.HasValue);
        w.Write(stopping.BestMetric ?? 0);
        w.Write(stopping.BestEpoch);
        w.Write(stopping.EpochsSinceBest);
        IReadOnlyDictionary<string, StateTensor> state = UFlowStateDictionary.Export(trainer.Module);
        w.Write(state.Count);
        foreach ((string name, StateTensor t) in state)
        {
            w.Write(name);
            w.Write(t.Shape.Length);
            foreach (int d in t.Shape) w.Write(d);
            FlowBinaryReader.WriteFloats(w, t.Values);
        }
        trainer.Optimizer.WriteState(w, ParameterNames(trainer));
        IReadOnlyList<TorchTensor>? best = trainer.BestWeights;
        w.Write(best is not null);
        if (best is not null)
        {
            foreach (TorchTensor t in best) FlowBinaryReader.WriteFloats(w, HostTensorCopy.ToArray(t));
        }
        w.Write(EndMarker);
    }

    private static UFlowTorchTrainer Read(Stream stream, string source, UFlowTorchTrainingOptions options)
    {
        InvalidDataException Bad(string why) => new($"'{source}' is not a readable U-Flow TorchSharp training checkpoint: {why}.");
        using var r = new FlowBinaryReader(stream, Bad);
        int version = r.ReadSignatureAndVersion(Magic, "it does not start with the checkpoint signature", FormatVersion, newer => $"The training checkpoint '{source}' has format version {newer}, newer than version {FormatVersion} that this library reads; update Microsoft.ML.UFlow to continue it.");
        if (version < OldestReadableVersion)
        {
            throw new InvalidDataException($"The training checkpoint '{source}' has format version {version}, which holds TorchSharp's own Adam state; this library reads versions {OldestReadableVersion} to {FormatVersion} only and cannot continue it: delete it to train anew.");
        }
        double lr = r.ReadDouble(), endFactor = r.ReadDouble();
        int totalIters = r.ReadInt32();
        double weightDecay = r.ReadDouble();
        int batch = r.ReadInt32();
        ulong seed = r.ReadUInt64();
        CheckpointSettings.RequireSame(source, "learning rate", lr, options.LearningRate, nameof(options));
        CheckpointSettings.RequireSame(source, "learning-rate end factor", endFactor, options.LearningRateEndFactor, nameof(options));
        CheckpointSettings.RequireSame(source, "learning-rate schedule length", totalIters, options.LearningRateTotalIters, nameof(options));
        CheckpointSettings.RequireSame(source, "weight decay", weightDecay, options.WeightDecay, nameof(options));
        CheckpointSettings.RequireSame(source, "batch size", batch, options.BatchSize, nameof(options));
        CheckpointSettings.RequireSame(source, "seed", seed, options.Seed, nameof(options));
        int levels = r.ReadInt32("scale count", 1, 64);
        var scales = new FlowScale[levels];
        for (int l = 0; l < levels; l++) scales[l] = new FlowScale(r.ReadInt32("channels", 1, 1 << 20), r.ReadInt32("height", 1, 1 << 16), r.ReadInt32("width", 1, 1 << 16));
        int steps = r.ReadInt32("flow steps", 1, 1024);
        double ratio = r.ReadDouble();
        float clamp = r.ReadSingle();
        bool layerNorm = r.ReadBoolean();
        ulong configSeed = r.ReadUInt64();
        if (!(ratio > 0 && ratio <= MaxSubnetChannelsRatio)) throw Bad($"its subnet width ratio {ratio} is not in (0, {MaxSubnetChannelsRatio}]");
        if (!(clamp > 0 && float.IsFinite(clamp))) throw Bad($"its soft-clamp α {clamp} is not positive and finite");
        UFlowConfig config;
        UFlowPlan plan;
        try
        {
            config = new UFlowConfig(scales) { FlowSteps = steps, SubnetChannelsRatio = ratio, AffineClamp = clamp, FeatureLayerNorm = layerNorm, Seed = configSeed };
            plan = config.Plan();
        }
        catch (ArgumentException e)
        {
            throw Bad($"its flow configuration is invalid ({e.Message})");
        }
        foreach (int c in plan.StageChannels)
        {
            if ((int)((c - c / 2) * ratio) < 1) throw Bad($"its subnet width ratio {ratio} leaves a stage of {c} channels without hidden channels");
        }
        int completed = r.ReadInt32("completed epochs", 0, int.MaxValue);
        int samples = r.ReadInt32("sample count", 0, int.MaxValue);
        TrainingDataFingerprint? data = r.ReadBoolean() ? TrainingDataFingerprint.Read(r) : null;
        HeldOutSplit? heldOut = null;
        TrainingDataFingerprint? heldOutData = null;
        if (version >= 3 && r.ReadBoolean())
        {
            int total = r.ReadInt32("held-out image count", 0, int.MaxValue);
            var indices = new int[r.ReadInt32("held-out images", 0, total)];
            for (int i = 0; i < indices.Length; i++) indices[i] = r.ReadInt32("a held-out index", 0, Math.Max(0, total - 1));
            try
            {
                heldOut = HeldOutSplit.FromHeldOut(total, indices);
            }
            catch (ArgumentException e)
            {
                throw Bad(e.Message);
            }
            heldOutData = r.ReadBoolean() ? TrainingDataFingerprint.Read(r) : null;
        }
        bool hasBest = r.ReadBoolean();
        double bestMetric = r.ReadDouble();
        int bestEpoch = r.ReadInt32("best epoch", -1, Math.Max(-1, completed - 1));
        int sinceBest = r.ReadInt32("epochs since the best", 0, completed);
        if (completed > 0 && samples == 0) throw Bad($"{completed} epochs are recorded over no samples");
        int entries = r.ReadInt32("state entries", 0, 1 << 20);
        var state = new Dictionary<string, StateTensor>(entries);
        for (int i = 0; i < entries; i++)
        {
            string name = r.ReadString("a state entry name", 1024);
            int rank = r.ReadInt32("a state entry rank", 0, 8);
            var shape = new int[rank];
            long count = 1;
            for (int d = 0; d < rank; d++)
            {
                count *= shape[d] = r.ReadInt32("a state entry dimension", 0, int.MaxValue);
                if (count > int.MaxValue) throw Bad($"the state entry '{name}' claims more than {int.MaxValue} values");
            }
            r.Require(4 * count, $"the values of '{name}'");
            var values = new float[count];
            r.ReadFloats(values, $"the values of '{name}'");
            if (!state.TryAdd(name, new StateTensor(shape, values))) throw Bad($"the state entry '{name}' appears twice");
        }
        // The values are in the file; a corrupted configuration must not make the flow (allocated before the entries are
        // matched to it) larger than they are.
        long expected = config.CountTrainableParameters() + (long)config.FlowSteps * plan.StageChannels.Sum(c => (long)c);
        long held = state.Values.Sum(e => (long)e.Values.Length);
        if (held != expected) throw Bad($"its state dictionary holds {held} values but its flow configuration ({config}) needs {expected}");
        var trainer = new UFlowTorchTrainer(config, options);
        try
        {
            try
            {
                UFlowStateDictionary.Load(trainer.Module, state);
            }
            catch (ArgumentException e)
            {
                throw Bad($"its state dictionary does not fit its configuration ({e.Message})");
            }
            trainer.Optimizer.ReadState(r, ParameterNames(trainer));
            TorchTensor[]? best = null;
            if (r.ReadBoolean())
            {
                best = new TorchTensor[trainer.Parameters.Count];
                for (int i = 0; i < best.Length; i++)
                {
                    var p = trainer.Parameters[i];
                    var values = new float[p.numel()];
                    r.ReadFloats(values, $"the best weights of parameter {i}");
                    best[i] = HostTensorCopy.ToTorch(values, p.shape, p.device).DetachFromDisposeScope();
                }
            }
            if (!r.ReadBytes(EndMarker.Length, "the end marker").AsSpan().SequenceEqual(EndMarker)) throw Bad("the end marker is missing");
            var stopping = hasBest ? new UFlowEarlyStoppingState(bestMetric, bestEpoch, sinceBest) : UFlowEarlyStoppingState.Initial;
            trainer.RestoreProgress(completed, samples, data, stopping, best);
            trainer.HeldOut = heldOut;
            trainer.HeldOutData = heldOutData;
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    /// <summary>The flow's parameter names in <c>parameters()</c> order, the optimiser's order.</summary>
    private static string[] ParameterNames(UFlowTorchTrainer trainer)
    {
        string[] names = trainer.Module.named_parameters().Select(p => p.name).ToArray();
        if (names.Length != trainer.Parameters.Count) throw new InvalidOperationException($"Adam holds {trainer.Parameters.Count} parameters for the flow's {names.Length}.");
        return names;
    }
}
