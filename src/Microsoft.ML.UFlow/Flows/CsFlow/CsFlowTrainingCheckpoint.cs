using System.Text;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Data;

namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>
/// A <see cref="CsFlowTrainingState"/> on disk, so that a long CS-Flow training (60 epochs on MTD, 240 on MVTec AD)
/// can stop and continue later exactly as if it had run through. Versioned little-endian binary: magic
/// <c>CSFLOWC1</c>, format version, the trainer settings the state depends on, the progress and a summary of the
/// training features (from version 2; version 1 files are read without it), the model
/// (<see cref="CsFlowModel"/>'s format), Adam's step count and moments, an end marker. Saves are atomic; the file is
/// about three times the model's size.
/// </summary>
public static class CsFlowTrainingCheckpoint
{
    /// <summary>The format version this library writes (and the newest it reads).</summary>
    public const int FormatVersion = 2;

    private static readonly byte[] Magic = "CSFLOWC1"u8.ToArray();
    private static readonly byte[] EndMarker = "ENDCKPT!"u8.ToArray();

    /// <summary>Writes <paramref name="state"/>, trained with <paramref name="trainer"/>'s settings, to <paramref name="path"/> atomically.</summary>
    public static void Save(CsFlowTrainer trainer, CsFlowTrainingState state, string path)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(state);
        AtomicFile.Write(path, stream => Write(trainer.Options, state, stream));
    }

    /// <summary>
    /// Reads a checkpoint to continue with <paramref name="trainer"/>, whose settings must be those it was made with
    /// (learning rate, Adam's β, ε and weight decay, batch size, clipping, shuffle seed, hidden width); the number of
    /// epochs may grow.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is truncated or corrupt, or was written by a newer version.</exception>
    /// <exception cref="ArgumentException">The trainer's settings differ from the checkpoint's.</exception>
    public static CsFlowTrainingState Load(string path, CsFlowTrainer trainer)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(trainer);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(stream, path, trainer);
    }

    private static void Write(CsFlowTrainerOptions o, CsFlowTrainingState state, Stream stream)
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
        w.Write(state.CompletedEpochs);
        w.Write(state.SampleCount);
        w.Write(state.DataFingerprint is not null);
        state.DataFingerprint?.Write(w);
        w.Flush();
        state.Model.Save(stream);
        w.Write(state.Optimizer.StepCount);
        foreach (float[] m in state.Optimizer.FirstMoments) FlowBinaryReader.WriteFloats(w, m);
        foreach (float[] v in state.Optimizer.SecondMoments) FlowBinaryReader.WriteFloats(w, v);
        w.Write(EndMarker);
    }

    private static CsFlowTrainingState Read(Stream stream, string source, CsFlowTrainer trainer)
    {
        InvalidDataException Bad(string why) => new($"'{source}' is not a readable CS-Flow training checkpoint: {why}.");
        using var r = new FlowBinaryReader(stream, Bad);
        int version = r.ReadSignatureAndVersion(Magic, "it does not start with the checkpoint signature", FormatVersion, version => $"The CS-Flow training checkpoint '{source}' has format version {version}, newer than version {FormatVersion} that this library reads; update Microsoft.ML.UFlow to continue it.");
        CsFlowTrainerOptions o = trainer.Options;
        CheckpointSettings.RequireSame(source, "learning rate", r.ReadDouble(), o.LearningRate, "trainer");
        CheckpointSettings.RequireSame(source, "Adam β1", r.ReadDouble(), o.Beta1, "trainer");
        CheckpointSettings.RequireSame(source, "Adam β2", r.ReadDouble(), o.Beta2, "trainer");
        CheckpointSettings.RequireSame(source, "Adam ε", r.ReadDouble(), o.AdamEpsilon, "trainer");
        CheckpointSettings.RequireSame(source, "weight decay", r.ReadDouble(), o.WeightDecay, "trainer");
        CheckpointSettings.RequireSame(source, "gradient clipping norm", r.ReadDouble(), o.GradientClipNorm, "trainer");
        CheckpointSettings.RequireSame(source, "batch size", r.ReadInt32(), o.BatchSize, "trainer");
        CheckpointSettings.RequireSame(source, "shuffle seed", r.ReadUInt64(), o.ShuffleSeed, "trainer");
        int completed = r.ReadInt32("completed epochs", 0, int.MaxValue);
        int samples = r.ReadInt32("sample count", 0, int.MaxValue);
        TrainingDataFingerprint? data = version >= 2 && r.ReadBoolean() ? TrainingDataFingerprint.Read(r) : null;
        if (completed > 0 && samples == 0) throw Bad($"{completed} epochs are recorded over no samples");
        CsFlowModel model = CsFlowModel.Load(stream, source); // its errors name the file too
        CheckpointSettings.RequireSame(source, "hidden width", model.Network.Options.HiddenChannels, o.Network.HiddenChannels, "trainer");
        CsFlowTrainingState state = trainer.Start(model);
        state.Optimizer.RestoreStepCount(r.ReadInt32("optimiser steps", 0, int.MaxValue));
        IReadOnlyList<Parameter> parameters = model.Network.Parameters;
        for (int i = 0; i < parameters.Count; i++) r.ReadFloats(state.Optimizer.FirstMoments[i], $"Adam's first moment of '{parameters[i].Name}'");
        for (int i = 0; i < parameters.Count; i++) r.ReadFloats(state.Optimizer.SecondMoments[i], $"Adam's second moment of '{parameters[i].Name}'");
        if (!r.ReadBytes(EndMarker.Length, "the end marker").AsSpan().SequenceEqual(EndMarker)) throw Bad("the end marker is missing");
        state.CompletedEpochs = completed;
        state.SampleCount = samples;
        state.DataFingerprint = data;
        return state;
    }
}
