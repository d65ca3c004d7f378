using System.Diagnostics;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Optim;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>
/// Trains a <see cref="CsFlowNetwork"/> on pre-extracted three-scale features (an <see cref="IFeatureBatchSource"/>
/// serving scales 0, 1, 2, finest first) as the official code does
/// (METHOD.md C.3): per-dimension loss, Adam (lr 2e-4, ε 1e-4, weight decay 1e-5), gradient-norm clipping at 1.0
/// each step, batches of 16 reshuffled (seeded) every epoch, no schedule.
/// </summary>
public sealed class CsFlowTrainer
{
    /// <summary>Creates the trainer.</summary>
    public CsFlowTrainer(CsFlowTrainerOptions? options = null)
    {
        Options = options ?? new CsFlowTrainerOptions();
        Options.Validate();
    }

    /// <summary>The settings.</summary>
    public CsFlowTrainerOptions Options { get; }

    /// <summary>Trains a fresh network on <paramref name="data"/>.</summary>
    /// <exception cref="CsFlowTrainingDivergedException">A step produced a non-finite loss or gradient.</exception>
    public CsFlowModel Fit(IFeatureBatchSource data, IProgress<CsFlowEpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        int channels = ProbeChannels(data);
        CsFlowNetworkOptions networkOptions = Options.Network.Clone();
        if (networkOptions.Channels == 0) networkOptions.Channels = channels;
        if (networkOptions.Channels != channels)
        {
            throw new ArgumentException($"The network expects {networkOptions.Channels} channels but the features have {channels}.", nameof(data));
        }
        var model = new CsFlowModel(new CsFlowNetwork(networkOptions));
        Continue(model, data, progress, cancellationToken);
        return model;
    }

    /// <summary>Trains <paramref name="model"/> further (fresh optimiser state) for <see cref="CsFlowTrainerOptions.Epochs"/> epochs.</summary>
    /// <exception cref="CsFlowTrainingDivergedException">A step produced a non-finite loss or gradient; the model keeps the last finite weights.</exception>
    public void Continue(CsFlowModel model, IFeatureBatchSource data, IProgress<CsFlowEpochReport>? progress = null, CancellationToken cancellationToken = default)
        => Train(Start(model), data, progress, cancellationToken);

    /// <summary>A training state for <paramref name="model"/> with a fresh optimiser and no epochs done.</summary>
    public CsFlowTrainingState Start(CsFlowModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var adam = new Adam(model.Network.Parameters, new AdamOptions
        {
            LearningRate = Options.LearningRate,
            Beta1 = Options.Beta1,
            Beta2 = Options.Beta2,
            Epsilon = Options.AdamEpsilon,
            WeightDecay = Options.WeightDecay,
        });
        return new CsFlowTrainingState(model, adam);
    }

    /// <summary>
    /// Runs epochs <see cref="CsFlowTrainingState.CompletedEpochs"/> + 1 … <see cref="CsFlowTrainerOptions.Epochs"/> on
    /// <paramref name="state"/>: all of them for a new state, the rest for one read from a checkpoint
    /// (<see cref="CsFlowTrainingCheckpoint"/>), which continues exactly as if it had not been interrupted. The state
    /// counts each epoch before <paramref name="progress"/> hears of it, so a synchronous progress handler may save it.
    /// </summary>
    /// <exception cref="CsFlowTrainingDivergedException">A step produced a non-finite loss or gradient; the model keeps the last finite weights.</exception>
    public void Train(CsFlowTrainingState state, IFeatureBatchSource data, IProgress<CsFlowEpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(data);
        CsFlowModel model = state.Model;
        CsFlowNetwork network = model.Network;
        int channels = ProbeChannels(data);
        if (channels != network.Options.Channels)
        {
            throw new ArgumentException($"The network expects {network.Options.Channels} channels but the features have {channels}.", nameof(data));
        }
        if (state.CompletedEpochs > 0 && data.Count != state.SampleCount)
        {
            throw new ArgumentException($"The training set has {data.Count} samples, but the {state.CompletedEpochs} epochs already completed used {state.SampleCount}; a continued run needs the same training data.", nameof(data));
        }
        TrainingDataFingerprint features = TrainingDataFingerprint.Of(data, 3);
        if (state.CompletedEpochs > 0) state.DataFingerprint?.RequireSame(features, state.CompletedEpochs, nameof(data));
        state.SampleCount = data.Count;
        state.DataFingerprint ??= features;
        var shuffle = new SeededRandom(Options.ShuffleSeed);
        // Each epoch draws one permutation from the seeded stream: replay the completed epochs' draws to continue it.
        for (int e = 0; e < state.CompletedEpochs; e++) shuffle.Permutation(data.Count);
        Tensor[] batch = [new(1), new(1), new(1)];
        Tensor[] gradLatents = [new(1), new(1), new(1)];
        double[] gradLogDet = [];
        for (int epoch = state.CompletedEpochs + 1; epoch <= Options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            int[] order = shuffle.Permutation(data.Count);
            double lossSum = 0;
            int batches = 0;
            for (int start = 0; start < order.Length; start += Options.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int size = Math.Min(Options.BatchSize, order.Length - start);
                data.ReadBatch(order.AsSpan(start, size), batch);
                if (gradLogDet.Length != size) gradLogDet = new double[size];
                (double loss, double norm) = Step(network, state.Optimizer, batch, gradLatents, gradLogDet, Options.GradientClipNorm);
                if (!double.IsFinite(loss) || !double.IsFinite(norm))
                {
                    throw new CsFlowTrainingDivergedException(epoch, batches, loss, norm, model);
                }
                lossSum += loss;
                batches++;
                Options.StepCompleted?.Invoke();
            }
            state.CompletedEpochs = epoch;
            progress?.Report(new CsFlowEpochReport(epoch, Options.Epochs, lossSum / batches, clock.Elapsed));
        }
    }

    /// <summary>
    /// One optimisation step on one batch: forward, per-dimension loss, backward, gradient-norm clipping, Adam update.
    /// When the loss or the gradient norm is not finite the update is skipped (weights unchanged). Returns both.
    /// </summary>
    internal static (double Loss, double GradientNorm) Step(CsFlowNetwork network, Adam adam, IReadOnlyList<Tensor> batch, Tensor[] gradLatents, double[] gradLogDet, double clipNorm)
    {
        adam.ZeroGrad();
        (IReadOnlyList<Tensor> z, double[] logDet) = network.Forward(batch);
        double loss = CsFlowLoss.Compute(z, logDet, gradLatents, gradLogDet);
        if (!double.IsFinite(loss)) return (loss, double.NaN);
        network.Backward(gradLatents, gradLogDet);
        double norm = GradientClipping.ClipGradNorm(network.Parameters, clipNorm);
        if (double.IsFinite(norm)) adam.Step();
        return (loss, norm);
    }

    /// <summary>Reads sample 0 to check that the source serves three scales that halve, and returns their channel count.</summary>
    private static int ProbeChannels(IFeatureBatchSource data)
    {
        if (data.Count == 0) throw new ArgumentException("The training set is empty.", nameof(data));
        Tensor[] probe = [new(1), new(1), new(1)];
        data.ReadBatch([0], probe);
        CrossScaleSubnet.CheckScales(probe, probe[0].C, "features");
        return probe[0].C;
    }
}
