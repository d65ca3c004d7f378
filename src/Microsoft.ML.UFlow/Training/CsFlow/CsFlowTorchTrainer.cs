using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Trains a <see cref="CsFlowModule"/> on TorchSharp on pre-extracted three-scale features with
/// v1's managed <c>CsFlowTrainer</c>'s semantics (METHOD.md C.3): per-dimension loss (<see cref="CsFlowNll"/>), Adam (<see cref="HeldScalarAdam"/>: lr,
/// β1, β2, ε and L2 weight decay from <see cref="CsFlowTrainerOptions"/>: 2e-4, 0.9, 0.999, 1e-4, 1e-5 by default),
/// gradient-norm clipping each step (1.0), batches reshuffled every epoch from a generator seeded with
/// <see cref="CsFlowTrainerOptions.ShuffleSeed"/> (the last batch may be smaller), no schedule.
/// </summary>
/// <remarks>
/// Seeded and reproducible on the CPU: the same options and features give bit-identical weights. Every step runs in
/// its own dispose scope and only its loss, a float, leaves it. Features that are not finite, or a loss or gradient
/// norm that is not, stop training with a <see cref="CsFlowDivergenceException"/> naming the epoch and step.
/// </remarks>
internal sealed class CsFlowTorchTrainer
{
    /// <summary>Creates the trainer.</summary>
    /// <param name="options">The settings (null: the defaults).</param>
    /// <param name="device">"cpu", "cuda" or "cuda:N" (<see cref="TorchRuntime.Resolve"/>).</param>
    /// <exception cref="ArgumentException">A setting is invalid or the device name is not understood.</exception>
    /// <exception cref="InvalidOperationException">libtorch cannot be loaded or the device is not available (the message names the package to reference).</exception>
    public CsFlowTorchTrainer(CsFlowTrainerOptions? options = null, string device = "cpu")
    {
        Options = options ?? new CsFlowTrainerOptions();
        Options.Validate();
        Device = TorchRuntime.Resolve(device);
    }

    /// <summary>The settings.</summary>
    public CsFlowTrainerOptions Options { get; }

    /// <summary>The device the network trains on.</summary>
    public Device Device { get; }

    /// <summary>
    /// Trains a fresh network (<see cref="CsFlowTrainerOptions.Network"/>; its channel count taken from the features
    /// when 0) and returns its state dictionary (<see cref="CsFlowStateDictionary"/>).
    /// </summary>
    /// <param name="features">The training set: three float32 tensors N×C×H×W, N×C×H/2×W/2, N×C×H/4×W/4 (any device; batches are moved to <see cref="Device"/>).</param>
    /// <param name="progress">Told after every epoch.</param>
    /// <param name="cancellationToken">Checked before every step.</param>
    /// <exception cref="ArgumentException">The features are malformed or do not fit the network options.</exception>
    /// <exception cref="CsFlowDivergenceException">Features, loss or gradients were not finite.</exception>
    public IReadOnlyDictionary<string, StateTensor> Fit(IReadOnlyList<Tensor> features, IProgress<CsFlowEpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        using CsFlowTorchTrainingState state = Start(CreateModule(features));
        Train(state, features, progress, cancellationToken);
        return CsFlowStateDictionary.From(state.Module);
    }

    /// <summary>A fresh network for <paramref name="features"/> on <see cref="Device"/>.</summary>
    /// <exception cref="ArgumentException">The features are malformed or do not fit the network options.</exception>
    public CsFlowModule CreateModule(IReadOnlyList<Tensor> features)
    {
        ArgumentNullException.ThrowIfNull(features);
        CsFlowNetworkOptions network = Options.Network.Clone();
        if (network.Channels == 0 && features.Count > 0 && features[0] is { } finest && finest.dim() == 4) network.Channels = checked((int)finest.shape[1]);
        CsFlowModule.CheckScales(features, network.Channels, nameof(features));
        return new CsFlowModule(network, Device);
    }

    /// <summary>
    /// A training state for <paramref name="module"/> (on <see cref="Device"/>; the state takes ownership of it) with a
    /// fresh Adam optimiser and no epochs done.
    /// </summary>
    /// <exception cref="ArgumentException">The module is on another device.</exception>
    public CsFlowTorchTrainingState Start(CsFlowModule module)
    {
        ArgumentNullException.ThrowIfNull(module);
        Device on = module.Device;
        if (on.type != Device.type || on.index != Device.index)
        {
            throw new ArgumentException($"The module is on {on} but the trainer trains on {Device}.", nameof(module));
        }
        var adam = new HeldScalarAdam(module.parameters(), Options.LearningRate, Options.Beta1, Options.Beta2, Options.AdamEpsilon, Options.WeightDecay);
        return new CsFlowTorchTrainingState(module, adam);
    }

    /// <summary>
    /// Runs epochs <see cref="CsFlowTorchTrainingState.CompletedEpochs"/> + 1 … <see cref="CsFlowTrainerOptions.Epochs"/>
    /// on <paramref name="state"/>: all of them for a new state, the rest for one read from a checkpoint
    /// (<see cref="CsFlowTorchCheckpoint"/>), which then continues exactly as if it had not been interrupted. The state
    /// counts each epoch before <paramref name="progress"/> hears of it, so a synchronous progress handler may save it.
    /// </summary>
    /// <exception cref="ArgumentException">The features are malformed, do not fit the module, or are not those of the epochs already completed.</exception>
    /// <exception cref="CsFlowDivergenceException">Features, loss or gradients were not finite; the module keeps the weights of the last finite step.</exception>
    public void Train(CsFlowTorchTrainingState state, IReadOnlyList<Tensor> features, IProgress<CsFlowEpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        CsFlowModule module = state.Module;
        CsFlowModule.CheckScales(features, module.Options.Channels, nameof(features));
        long count = features[0].shape[0];
        if (count == 0) throw new ArgumentException("The training set is empty.", nameof(features));
        if (count > int.MaxValue) throw new ArgumentException($"The training set has {count} samples, more than {int.MaxValue}.", nameof(features));
        if (state.CompletedEpochs > 0 && count != state.SampleCount)
        {
            throw new ArgumentException($"The training set has {count} samples, but the {state.CompletedEpochs} epochs already completed used {state.SampleCount}; a continued run needs the same training data.", nameof(features));
        }
        TrainingDataFingerprint fingerprint = Fingerprint(features);
        if (state.CompletedEpochs > 0) state.DataFingerprint?.RequireSame(fingerprint, state.CompletedEpochs, nameof(features));
        state.SampleCount = (int)count;
        state.DataFingerprint ??= fingerprint;
        module.train();
        using var loss = new CsFlowNll();
        using var shuffle = new Generator(Options.ShuffleSeed);
        // Each epoch draws one permutation from the seeded generator: replay the completed epochs' draws to continue it.
        for (int e = 0; e < state.CompletedEpochs; e++) torch.randperm(count, generator: shuffle).Dispose();
        for (int epoch = state.CompletedEpochs + 1; epoch <= Options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            long[] order;
            using (Tensor permutation = torch.randperm(count, generator: shuffle))
            {
                order = permutation.data<long>().ToArray();
            }
            double lossSum = 0;
            int steps = 0;
            for (int start = 0; start < count; start += Options.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int size = (int)Math.Min(Options.BatchSize, count - start);
                lossSum += Step(module, loss, state.Optimizer, features, order.AsSpan(start, size), Options.GradientClipNorm, epoch, steps);
                steps++;
                Options.StepCompleted?.Invoke();
            }
            state.CompletedEpochs = epoch;
            progress?.Report(new CsFlowEpochReport(epoch, Options.Epochs, lossSum / steps, clock.Elapsed));
        }
    }

    /// <summary>
    /// One optimisation step on the samples <paramref name="indices"/> of <paramref name="features"/>: forward,
    /// per-dimension loss, backward, gradient-norm clipping, Adam update; returns the loss. Nothing else outlives it.
    /// </summary>
    /// <exception cref="CsFlowDivergenceException">The batch, the loss or the gradient norm is not finite (no update is made).</exception>
    internal static float Step(CsFlowModule module, CsFlowNll loss, HeldScalarAdam adam, IReadOnlyList<Tensor> features, ReadOnlySpan<long> indices,
        double clipNorm, int epoch, int step)
    {
        using var scope = torch.NewDisposeScope();
        Device device = module.Device;
        Tensor index = torch.tensor(indices.ToArray(), device: features[0].device);
        var batch = new Tensor[3];
        for (int s = 0; s < 3; s++) batch[s] = features[s].index_select(0, index).to(device);
        for (int s = 0; s < 3; s++)
        {
            if (!batch[s].isfinite().all().item<bool>())
            {
                throw new CsFlowDivergenceException(epoch, step, $"the features of scale {s} contain NaN or infinite values",
                    "Check the feature extraction (every training feature must be finite).");
            }
        }
        module.zero_grad();
        (Tensor[] latents, Tensor logDet) = module.call(batch);
        Tensor value = loss.call(latents, logDet);
        float result = value.item<float>();
        if (!float.IsFinite(result))
        {
            throw new CsFlowDivergenceException(epoch, step, $"the loss is {result.ToString(CultureInfo.InvariantCulture)}", "Try a lower learning rate, or check the features.");
        }
        value.backward();
        double norm = torch.nn.utils.clip_grad_norm_(module.parameters(), clipNorm);
        if (!double.IsFinite(norm))
        {
            throw new CsFlowDivergenceException(epoch, step, $"the gradient norm is {norm.ToString(CultureInfo.InvariantCulture)}", "Try a lower learning rate, or check the features.");
        }
        adam.Step();
        return result;
    }

    /// <summary>The summary of the first and last samples that a continued training compares.</summary>
    private static TrainingDataFingerprint Fingerprint(IReadOnlyList<Tensor> features)
    {
        using var scope = torch.NewDisposeScope();
        long last = features[0].shape[0] - 1;
        float[][] Sample(long n) => features.Select(t => t[n].to(ScalarType.Float32, torch.CPU).contiguous().data<float>().ToArray()).ToArray();
        return TrainingDataFingerprint.OfSamples(Sample(0), Sample(last));
    }
}
