using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Tests.Training.CsFlow;

/// <summary>
/// TorchSharp CS-Flow checkpoints: an interrupted and resumed training ends bit for bit where an uninterrupted one
/// does; other settings or data are refused with the setting named; damaged files fail naming the file; saves are atomic.
/// </summary>
public sealed class CsFlowTorchCheckpointTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "csflow-torch-ckpt-" + Guid.NewGuid().ToString("N"));

    public CsFlowTorchCheckpointTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CsFlowTrainerOptions Options(int epochs) => new()
    {
        Epochs = epochs,
        BatchSize = 3,
        LearningRate = 2e-3,
        ShuffleSeed = 7,
        Network = new CsFlowNetworkOptions { HiddenChannels = 6, KernelSizes = [3, 5], Seed = 2 },
    };

    private static Tensor[] Features(int n, ulong seed, double scale = 1)
    {
        using var generator = new Generator(seed);
        using Scalar factor = scale;
        return Enumerable.Range(0, 3).Select(s => torch.randn(n, 4, 8 >> s, 8 >> s, generator: generator).mul_(factor)).ToArray();
    }

    private static (IReadOnlyDictionary<string, StateTensor> Weights, float[] Moments) Snapshot(CsFlowTorchTrainingState state)
    {
        HeldScalarAdam adam = state.Optimizer;
        float[] moments = adam.FirstMoments.Concat(adam.SecondMoments).SelectMany(m => m.data<float>().ToArray()).Append(adam.StepCount).ToArray();
        return (CsFlowStateDictionary.From(state.Module), moments);
    }

    [Fact]
    public void An_interrupted_and_resumed_training_ends_bit_for_bit_where_an_uninterrupted_one_does()
    {
        Tensor[] x = Features(7, 1); // 3 steps per epoch, the last one short
        var trainer = new CsFlowTorchTrainer(Options(4));
        using CsFlowTorchTrainingState straight = trainer.Start(trainer.CreateModule(x));
        trainer.Train(straight, x);

        string path = Path.Combine(_dir, "run.ckpt");
        var firstHalf = new CsFlowTorchTrainer(Options(2));
        using (CsFlowTorchTrainingState interrupted = firstHalf.Start(firstHalf.CreateModule(x)))
        {
            firstHalf.Train(interrupted, x);
            CsFlowTorchCheckpoint.Save(firstHalf, interrupted, path);
        }
        using CsFlowTorchTrainingState resumed = CsFlowTorchCheckpoint.Load(path, trainer);
        Assert.Equal(2, resumed.CompletedEpochs);
        Assert.Equal(7, resumed.SampleCount);
        var epochs = new List<int>();
        trainer.Train(resumed, x, new Progress(r => epochs.Add(r.Epoch)));
        Assert.Equal([3, 4], epochs);

        (IReadOnlyDictionary<string, StateTensor> a, float[] ma) = Snapshot(straight);
        (IReadOnlyDictionary<string, StateTensor> b, float[] mb) = Snapshot(resumed);
        foreach ((string name, StateTensor entry) in a) Assert.Equal(entry.Values, b[name].Values);
        Assert.Equal(ma, mb);
        Assert.Equal([Path.Combine(_dir, "run.ckpt")], Directory.GetFiles(_dir)); // atomic save: no temporary file left
        foreach (Tensor t in x) t.Dispose();
    }

    [Fact]
    public void Other_settings_or_other_data_are_refused_naming_what_differs()
    {
        Tensor[] x = Features(5, 2);
        string path = Path.Combine(_dir, "run.ckpt");
        var trainer = new CsFlowTorchTrainer(Options(1));
        using (CsFlowTorchTrainingState state = trainer.Start(trainer.CreateModule(x)))
        {
            trainer.Train(state, x);
            CsFlowTorchCheckpoint.Save(trainer, state, path);
        }

        CsFlowTrainerOptions lr = Options(2);
        lr.LearningRate = 1e-3;
        Assert.Contains("learning rate 0.002, but 0.001 is asked for", Assert.Throws<ArgumentException>(() => CsFlowTorchCheckpoint.Load(path, new CsFlowTorchTrainer(lr))).Message);
        CsFlowTrainerOptions hidden = Options(2);
        hidden.Network.HiddenChannels = 8;
        Assert.Contains("hidden width 6, but 8", Assert.Throws<ArgumentException>(() => CsFlowTorchCheckpoint.Load(path, new CsFlowTorchTrainer(hidden))).Message);

        var more = new CsFlowTorchTrainer(Options(2));
        using (CsFlowTorchTrainingState state = CsFlowTorchCheckpoint.Load(path, more))
        {
            Tensor[] otherData = Features(5, 3, scale: 2);
            Assert.Contains("not those the 1 epochs already completed used", Assert.Throws<ArgumentException>(() => more.Train(state, otherData)).Message);
            Tensor[] fewer = x.Select(t => t.narrow(0, 0, 4)).ToArray();
            Assert.Contains("has 4 samples, but the 1 epochs already completed used 5", Assert.Throws<ArgumentException>(() => more.Train(state, fewer)).Message);
            Assert.Equal(1, state.CompletedEpochs);
            foreach (Tensor t in otherData.Concat(fewer)) t.Dispose();
        }
        foreach (Tensor t in x) t.Dispose();
    }

    [Fact]
    public void A_change_to_the_last_sample_is_refused_naming_it_and_recomputed_features_are_accepted()
    {
        Tensor[] x = Features(5, 2);
        string path = Path.Combine(_dir, "run.ckpt");
        var trainer = new CsFlowTorchTrainer(Options(1));
        using (CsFlowTorchTrainingState state = trainer.Start(trainer.CreateModule(x)))
        {
            trainer.Train(state, x);
            CsFlowTorchCheckpoint.Save(trainer, state, path);
        }
        var more = new CsFlowTorchTrainer(Options(2));

        // One value of the last sample's scale 1 (the second) changed: the same shapes, the first sample unchanged.
        Tensor[] changed = x.Select((t, s) => Changed(t, (v, shape) =>
        {
            if (s == 1) v[(shape[0] - 1) * (v.Length / shape[0])] += 1f;
        })).ToArray();
        using (CsFlowTorchTrainingState state = CsFlowTorchCheckpoint.Load(path, more))
        {
            Assert.Contains("scale 2 of the last sample", Assert.Throws<ArgumentException>(() => more.Train(state, changed)).Message);
            Assert.Equal(1, state.CompletedEpochs);
        }

        // Features recomputed elsewhere differ in their last bits: the run continues.
        Tensor[] recomputed = x.Select(t => Changed(t, (v, _) =>
        {
            for (int i = 0; i < v.Length; i++) v[i] = MathF.BitDecrement(v[i]);
        })).ToArray();
        Assert.NotEqual(x[0].data<float>().ToArray(), recomputed[0].data<float>().ToArray());
        using (CsFlowTorchTrainingState state = CsFlowTorchCheckpoint.Load(path, more))
        {
            more.Train(state, recomputed);
            Assert.Equal(2, state.CompletedEpochs);
        }
        foreach (Tensor t in x.Concat(changed).Concat(recomputed)) t.Dispose();
    }

    // A copy of t with its values changed by change(values, shape).
    private static Tensor Changed(Tensor t, Action<float[], long[]> change)
    {
        float[] values = t.data<float>().ToArray();
        change(values, t.shape);
        return torch.tensor(values, t.shape);
    }

    [Fact]
    public void A_damaged_or_foreign_file_fails_naming_it()
    {
        Tensor[] x = Features(4, 4);
        string path = Path.Combine(_dir, "run.ckpt");
        var trainer = new CsFlowTorchTrainer(Options(1));
        using (CsFlowTorchTrainingState state = trainer.Start(trainer.CreateModule(x)))
        {
            trainer.Train(state, x);
            CsFlowTorchCheckpoint.Save(trainer, state, path);
        }
        byte[] bytes = File.ReadAllBytes(path);
        string truncated = Path.Combine(_dir, "truncated.ckpt");
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length - 100).ToArray());
        var e = Assert.Throws<InvalidDataException>(() => CsFlowTorchCheckpoint.Load(truncated, trainer));
        Assert.Contains($"'{truncated}' is not a readable TorchSharp CS-Flow training checkpoint", e.Message);
        string foreign = Path.Combine(_dir, "foreign.ckpt");
        File.WriteAllBytes(foreign, "CSFLOWC1 and then some bytes"u8.ToArray());
        Assert.Contains("does not start with the checkpoint signature", Assert.Throws<InvalidDataException>(() => CsFlowTorchCheckpoint.Load(foreign, trainer)).Message);
        string newer = Path.Combine(_dir, "newer.ckpt");
        byte[] future = bytes.ToArray();
        BitConverter.GetBytes(CsFlowTorchCheckpoint.FormatVersion + 1).CopyTo(future, 8);
        File.WriteAllBytes(newer, future);
        Assert.Contains("newer than version 1", Assert.Throws<InvalidDataException>(() => CsFlowTorchCheckpoint.Load(newer, trainer)).Message);
        foreach (Tensor t in x) t.Dispose();
    }

    private sealed class Progress(Action<CsFlowEpochReport> report) : IProgress<CsFlowEpochReport>
    {
        public void Report(CsFlowEpochReport value) => report(value);
    }
}
