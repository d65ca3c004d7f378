using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Tests.Training.CsFlow;

/// <summary>The TorchSharp CS-Flow training loop: reproducibility, learning, bad input, devices and native memory.</summary>
public sealed class CsFlowTorchTrainerTests
{
    private static CsFlowTrainerOptions Options(int epochs, int batch = 4, double lr = 2e-3) => new()
    {
        Epochs = epochs,
        BatchSize = batch,
        LearningRate = lr,
        ShuffleSeed = 3,
        Network = new CsFlowNetworkOptions { HiddenChannels = 8, KernelSizes = [3, 3], Seed = 5 },
    };

    /// <summary>N samples of three scales (6 channels, 8/4/2) with per-channel structure a flow can learn: x = a_c + b_c · ε.</summary>
    private static Tensor[] Features(int n, ulong seed)
    {
        using var generator = new Generator(seed);
        var scales = new Tensor[3];
        for (int s = 0; s < 3; s++)
        {
            using var scope = torch.NewDisposeScope();
            long side = 8 >> s;
            Tensor mean = torch.linspace(-2, 2, 6).reshape(1, 6, 1, 1);
            Tensor std = torch.linspace(0.2, 1.5, 6).reshape(1, 6, 1, 1);
            scales[s] = torch.addcmul(mean, std, torch.randn(n, 6, side, side, generator: generator), HeldScalars.One).MoveToOuterDisposeScope();
        }
        return scales;
    }

    private sealed class Recorder(Action<CsFlowEpochReport> report) : IProgress<CsFlowEpochReport>
    {
        public void Report(CsFlowEpochReport value) => report(value);
    }

    [Fact]
    public void The_same_seeds_give_bit_identical_weights_and_another_shuffle_seed_does_not()
    {
        Tensor[] x = Features(10, 1);
        IReadOnlyDictionary<string, StateTensor> a = new CsFlowTorchTrainer(Options(2)).Fit(x);
        IReadOnlyDictionary<string, StateTensor> b = new CsFlowTorchTrainer(Options(2)).Fit(x);
        CsFlowTrainerOptions other = Options(2);
        other.ShuffleSeed = 4;
        IReadOnlyDictionary<string, StateTensor> c = new CsFlowTorchTrainer(other).Fit(x);
        Assert.Equal(a.Keys.Order(StringComparer.Ordinal), b.Keys.Order(StringComparer.Ordinal));
        foreach ((string name, StateTensor entry) in a) Assert.Equal(entry.Values, b[name].Values);
        Assert.Contains(a, e => !e.Value.Values.SequenceEqual(c[e.Key].Values));
        foreach (Tensor t in x) t.Dispose();
    }

    [Fact]
    public void Short_training_lowers_the_loss_and_moves_gamma_away_from_zero()
    {
        Tensor[] x = Features(16, 2);
        var losses = new List<double>();
        IReadOnlyDictionary<string, StateTensor> state = new CsFlowTorchTrainer(Options(8)).Fit(x, new Recorder(r => losses.Add(r.MeanLoss)));
        Assert.Equal(8, losses.Count);
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        // The untrained flow is the identity up to permutations: its loss is mean(x²)/2 ≈ 1.3 here. Training must bring
        // it down clearly (the per-channel means and scales are learnable).
        Assert.True(losses[^1] < 0.8 * losses[0], $"The loss went from {losses[0]} to {losses[^1]}.");
        Assert.True(Math.Abs(state["block0.s2.gamma0"].Values[0]) > 1e-3);
        foreach (Tensor t in x) t.Dispose();
    }

    [Fact]
    public void Features_that_are_not_finite_stop_training_naming_the_epoch_and_step()
    {
        Tensor[] x = Features(8, 3);
        // One step per epoch (batch 8); after the first epoch a NaN appears in the features.
        CsFlowTrainerOptions options = Options(3, batch: 8);
        int steps = 0;
        options.StepCompleted = () =>
        {
            if (++steps == 1) x[1][5, 2, 1, 1] = torch.tensor(float.NaN);
        };
        var e = Assert.Throws<CsFlowDivergenceException>(() => new CsFlowTorchTrainer(options).Fit(x));
        Assert.Equal(2, e.Epoch);
        Assert.Equal(0, e.Step);
        Assert.Contains("epoch 2, step 0", e.Message);
        Assert.Contains("scale 1 contain NaN or infinite values", e.Message);
        foreach (Tensor t in x) t.Dispose();
    }

    [Fact]
    public void A_diverging_loss_stops_training_naming_the_epoch_and_step()
    {
        // The soft clamp and the output clamp keep the loss finite for finite weights, so divergence shows as NaN once
        // an absurd learning rate has blown the weights up (the step whose loss is not finite is not applied).
        Tensor[] x = Features(8, 4);
        var e = Assert.Throws<CsFlowDivergenceException>(() => new CsFlowTorchTrainer(Options(3, lr: 1e30)).Fit(x));
        Assert.Contains($"CS-Flow training stopped in epoch {e.Epoch}, step {e.Step}: the loss is NaN", e.Message);
        Assert.Equal((1, 1), (e.Epoch, e.Step));
        Assert.Contains("No model was produced", e.Message);
        foreach (Tensor t in x) t.Dispose();
    }

    [Fact]
    public void Cuda_with_the_cpu_backend_fails_at_once_naming_the_package()
    {
        if (torch.cuda.is_available()) return; // a GPU machine with a CUDA backend: nothing to refuse
        var e = Assert.Throws<InvalidOperationException>(() => new CsFlowTorchTrainer(Options(1), "cuda"));
        Assert.Contains("TorchSharp-cuda-linux", e.Message);
    }

    [Fact]
    public void Malformed_features_are_refused_before_training()
    {
        Tensor[] x = Features(4, 5);
        var trainer = new CsFlowTorchTrainer(Options(1));
        Tensor[] wrongSize = [x[0], x[1], torch.zeros(4, 6, 3, 3)];
        Assert.Contains("exactly half", Assert.Throws<ArgumentException>(() => trainer.Fit(wrongSize)).Message);
        Tensor[] twoScales = [x[0], x[1]];
        Assert.Contains("must hold 3 tensors", Assert.Throws<ArgumentException>(() => trainer.Fit(twoScales)).Message);
        CsFlowTrainerOptions fixedChannels = Options(1);
        fixedChannels.Network.Channels = 8;
        Assert.Contains("8 channels were expected", Assert.Throws<ArgumentException>(() => new CsFlowTorchTrainer(fixedChannels).Fit(x)).Message);
        wrongSize[2].Dispose();
        foreach (Tensor t in x) t.Dispose();
    }

    [Fact]
    public void No_tensor_survives_a_step_and_native_tensors_do_not_grow_over_epochs()
    {
        // The live-tensor count of this thread (TorchSharp's dispose statistics, unaffected by tests on other threads)
        // after every epoch must not change, and after training it must be back where it was before.
        Tensor[] x = Features(12, 6);
        var trainer = new CsFlowTorchTrainer(Options(5, batch: 4));
        using CsFlowTorchTrainingState state = trainer.Start(trainer.CreateModule(x));
        var live = new List<long>();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        trainer.Train(state, x, new Recorder(_ => live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount)));
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Equal(5, live.Count);
        Assert.All(live, n => Assert.Equal(live[0], n));
        Assert.Equal(before, after);
        foreach (Tensor t in x) t.Dispose();
    }
}
