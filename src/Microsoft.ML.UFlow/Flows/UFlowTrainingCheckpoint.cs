using System.Text;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Data;

namespace Microsoft.ML.UFlow.Flows;

/// <summary>
/// The full state of a <see cref="UFlowTrainer"/> between epochs, so that a long training can stop (a session's end, a
/// crash) and continue later exactly as if it had run through: the flow's weights, Adam's moments and step count, the
/// completed epochs (which fix the next shuffle and learning rate), the early-stopping state and, when kept, the best
/// epoch's weights, and a summary of the training features so that other data of the same shape is refused.
/// Versioned little-endian binary: magic <c>UFLOWCK1</c>, format version, the training settings the state depends on,
/// the progress and the feature summary (from version 2; version 1 files are read without it), the flow
/// (<see cref="UShapedFlowSerializer"/>'s format), the optimiser, an end marker. Saves are atomic.
/// </summary>
/// <remarks>
/// About three times the flow's size on disk (weights and two moments per parameter; 420 MB for ResNet-50 v2 at 448 px).
/// Save from <see cref="UFlowTrainingOptions.EpochCompleted"/> (the state after that epoch) or after
/// <see cref="UFlowTrainer.Train"/> when it did not restore the best weights.
/// </remarks>
public static class UFlowTrainingCheckpoint
{
    /// <summary>The format version this library writes (and the newest it reads).</summary>
    public const int FormatVersion = 2;

    private static readonly byte[] Magic = "UFLOWCK1"u8.ToArray();
    private static readonly byte[] EndMarker = "ENDCKPT!"u8.ToArray();

    /// <summary>Writes the state of <paramref name="trainer"/> to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    /// <exception cref="InvalidOperationException">The flow holds the best epoch's weights restored at the end of
    /// <see cref="UFlowTrainer.Train"/>, not the last epoch's, so continuing from it would not be the same run.</exception>
    public static void Save(UFlowTrainer trainer, string path)
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
    /// Reads a checkpoint and returns a trainer that continues it with <paramref name="options"/>, which must have the
    /// settings the state depends on (learning rate, schedule, weight decay, batch size, seed) as saved; the number of
    /// epochs may grow, and the micro-batch size, callbacks and patience may change.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is truncated or corrupt, or was written by a newer version.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> differ from the checkpoint's settings.</exception>
    public static UFlowTrainer Load(string path, UFlowTrainingOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(stream, path, options);
    }

    private static void Write(UFlowTrainer trainer, Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(FormatVersion);
        UFlowTrainingOptions o = trainer.Options;
        w.Write(o.LearningRate);
        w.Write(o.LearningRateEndFactor);
        w.Write(o.LearningRateTotalIters);
        w.Write(o.WeightDecay);
        w.Write(o.BatchSize);
        w.Write(o.Seed);
        w.Write(trainer.CompletedEpochs);
        w.Write(trainer.SampleCount);
        w.Write(trainer.DataFingerprint is not null);
        trainer.DataFingerprint?.Write(w);
        UFlowEarlyStoppingState stopping = trainer.EarlyStopping;
        w.Write(stopping.BestMetric.HasValue);
        w.Write(stopping.BestMetric ?? 0);
        w.Write(stopping.BestEpoch);
        w.Write(stopping.EpochsSinceBest);
        w.Flush();
        UShapedFlowSerializer.Save(trainer.Flow, stream);
        w.Write(trainer.Optimizer.StepCount);
        IReadOnlyList<Parameter> parameters = trainer.Flow.Parameters;
        for (int i = 0; i < parameters.Count; i++)
        {
            FlowBinaryReader.WriteFloats(w, trainer.Optimizer.FirstMoments[i]);
            FlowBinaryReader.WriteFloats(w, trainer.Optimizer.SecondMoments[i]);
        }
        float[][]? best = trainer.BestWeights;
        w.Write(best is not null);
        if (best is not null)
        {
            foreach (float[] values in best) FlowBinaryReader.WriteFloats(w, values);
        }
        w.Write(EndMarker);
    }

    private static UFlowTrainer Read(Stream stream, string source, UFlowTrainingOptions options)
    {
        InvalidDataException Bad(string why) => new($"'{source}' is not a readable U-Flow training checkpoint: {why}.");
        using var r = new FlowBinaryReader(stream, Bad);
        int version = r.ReadSignatureAndVersion(Magic, "it does not start with the checkpoint signature", FormatVersion, version => $"The training checkpoint '{source}' has format version {version}, newer than version {FormatVersion} that this library reads; update Microsoft.ML.UFlow to continue it.");
        double lr = r.ReadDouble(), endFactor = r.ReadDouble();
        int totalIters = r.ReadInt32();
        double weightDecay = r.ReadDouble();
        int batch = r.ReadInt32();
        ulong seed = r.ReadUInt64();
        CheckpointSettings.RequireSame(source, "learning rate", lr, options.LearningRate, "options");
        CheckpointSettings.RequireSame(source, "learning-rate end factor", endFactor, options.LearningRateEndFactor, "options");
        CheckpointSettings.RequireSame(source, "learning-rate schedule length", totalIters, options.LearningRateTotalIters, "options");
        CheckpointSettings.RequireSame(source, "weight decay", weightDecay, options.WeightDecay, "options");
        CheckpointSettings.RequireSame(source, "batch size", batch, options.BatchSize, "options");
        CheckpointSettings.RequireSame(source, "seed", seed, options.Seed, "options");
        int completed = r.ReadInt32("completed epochs", 0, int.MaxValue);
        int samples = r.ReadInt32("sample count", 0, int.MaxValue);
        TrainingDataFingerprint? data = version >= 2 && r.ReadBoolean() ? TrainingDataFingerprint.Read(r) : null;
        bool hasBest = r.ReadBoolean();
        double bestMetric = r.ReadDouble();
        int bestEpoch = r.ReadInt32("best epoch", -1, Math.Max(-1, completed - 1));
        int sinceBest = r.ReadInt32("epochs since the best", 0, completed);
        if (completed > 0 && samples == 0) throw Bad($"{completed} epochs are recorded over no samples");
        UShapedFlow flow = UShapedFlowSerializer.Load(stream, source); // its errors name the file too
        var trainer = new UFlowTrainer(flow, options);
        trainer.Optimizer.RestoreStepCount(r.ReadInt32("optimiser steps", 0, int.MaxValue));
        IReadOnlyList<Parameter> parameters = flow.Parameters;
        for (int i = 0; i < parameters.Count; i++)
        {
            r.ReadFloats(trainer.Optimizer.FirstMoments[i], $"Adam's first moment of '{parameters[i].Name}'");
            r.ReadFloats(trainer.Optimizer.SecondMoments[i], $"Adam's second moment of '{parameters[i].Name}'");
        }
        float[][]? best = null;
        if (r.ReadBoolean())
        {
            best = parameters.Select(p => new float[p.Value.Length]).ToArray();
            for (int i = 0; i < best.Length; i++) r.ReadFloats(best[i], $"the best weights of '{parameters[i].Name}'");
        }
        if (!r.ReadBytes(EndMarker.Length, "the end marker").AsSpan().SequenceEqual(EndMarker)) throw Bad("the end marker is missing");
        var stopping = hasBest ? new UFlowEarlyStoppingState(bestMetric, bestEpoch, sinceBest) : UFlowEarlyStoppingState.Initial;
        trainer.RestoreProgress(completed, samples, data, stopping, best);
        return trainer;
    }
}
