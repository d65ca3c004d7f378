using System.Diagnostics;
using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Trains a <see cref="CsFlowModule"/> on TorchSharp on pre-extracted three-scale features with v1
/// <see cref="CsFlowTrainer"/>'s semantics (METHOD.md C.3): per-dimension loss (<see cref="CsFlowNll"/>), Adam (lr,
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
        using CsFlowModule module = CreateModule(features);
        Train(module, features, progress, cancellationToken);
        return CsFlowStateDictionary.From(module);
    }

    /// <summary>A fresh network for <paramref name="features"/> on <see cref="Device"/>.</summary>
    public CsFlowModule CreateModule(IReadOnlyList<Tensor> features)
    {
        ArgumentNullException.ThrowIfNull(features);
        CsFlowNetworkOptions network = Options.Network.Clone();
        if (network.Channels == 0 && features.Count > 0 && features[0] is { } finest && finest.dim() == 4) network.Channels = checked((int)finest.shape[1]);
        CsFlowModule.CheckScales(features, network.Channels, nameof(features));
        return new CsFlowModule(network, Device);
    }

    /// <summary>
    /// Trains <paramref name="module"/> (on <see cref="Device"/>) for <see cref="CsFlowTrainerOptions.Epochs"/> epochs with
    /// a fresh optimiser.
    /// </summary>
    /// <exception cref="ArgumentException">The features are malformed or do not fit the module.</exception>
    /// <exception cref="CsFlowDivergenceException">Features, loss or gradients were not finite; the module keeps the weights of the last finite step.</exception>
    public void Train(CsFlowModule module, IReadOnlyList<Tensor> features, IProgress<CsFlowEpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(module);
        CsFlowModule.CheckScales(features, module.Options.Channels, nameof(features));
        long count = features[0].shape[0];
        if (count == 0) throw new ArgumentException("The training set is empty.", nameof(features));
        if (module.Device.type != Device.type || module.Device.index != Device.index)
        {
            throw new ArgumentException($"The module is on {module.Device} but the trainer trains on {Device}.", nameof(module));
        }
        module.train();
        using var loss = new CsFlowNll();
        using var adam = torch.optim.Adam(module.parameters(), lr: Options.LearningRate, beta1: Options.Beta1, beta2: Options.Beta2,
            eps: Options.AdamEpsilon, weight_decay: Options.WeightDecay);
        using var shuffle = new Generator(Options.ShuffleSeed);
        for (int epoch = 1; epoch <= Options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            long[] order;
            using (Tensor permutation = torch.randperm(count, generator: shuffle))
            {
                order = permutation.data<long>().ToArray();
            }
            double lossSum = 0;
            int steps = 0;
            for (long start = 0; start < count; start += Options.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                long size = Math.Min(Options.BatchSize, count - start);
                lossSum += Step(module, loss, adam, features, order.AsSpan((int)start, (int)size), Options.GradientClipNorm, epoch, steps);
                steps++;
                Options.StepCompleted?.Invoke();
            }
            progress?.Report(new CsFlowEpochReport(epoch, Options.Epochs, lossSum / steps, clock.Elapsed));
        }
    }

    /// <summary>
    /// One optimisation step on the samples <paramref name="indices"/> of <paramref name="features"/>: forward,
    /// per-dimension loss, backward, gradient-norm clipping, Adam update; returns the loss. Nothing else outlives it.
    /// </summary>
    /// <exception cref="CsFlowDivergenceException">The batch, the loss or the gradient norm is not finite (no update is made).</exception>
    internal static float Step(CsFlowModule module, CsFlowNll loss, optim.Optimizer adam, IReadOnlyList<Tensor> features, ReadOnlySpan<long> indices,
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
        adam.zero_grad();
        (Tensor[] latents, Tensor logDet) = module.call(batch);
        Tensor value = loss.call(latents, logDet);
        float result = value.item<float>();
        if (!float.IsFinite(result))
        {
            throw new CsFlowDivergenceException(epoch, step, $"the loss is {result}", "Try a lower learning rate, or check the features.");
        }
        value.backward();
        double norm = torch.nn.utils.clip_grad_norm_(module.parameters(), clipNorm);
        if (!double.IsFinite(norm))
        {
            throw new CsFlowDivergenceException(epoch, step, $"the gradient norm is {norm}", "Try a lower learning rate, or check the features.");
        }
        adam.step();
        return result;
    }
}
