using System.Diagnostics;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using HostTensor = Microsoft.ML.UFlow.Tensors.Tensor;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Trains a <see cref="UFlowModule"/> on TorchSharp from cached features (METHOD.md A.4–A.5) with v1's semantics
/// (<c>UFlowTrainer</c>): per epoch a seeded shuffle (the same order as v1 for the same seed), batches with
/// drop_last = false, optionally split into micro-batches whose gradients are accumulated, the official loss, Adam with
/// classic L2 weight decay (<see cref="HeldScalarAdam"/>: β1 0.9, β2 0.999, ε 1e-8, PyTorch's defaults), the LinearLR
/// schedule stepped per epoch, a report and an optional validation metric with
/// early stopping. The result is the flow's state dictionary (<see cref="GetState"/>).
/// </summary>
/// <remarks>
/// <para>Memory: every optimisation step runs inside its own <c>torch.NewDisposeScope()</c> and only a float loss
/// leaves it; the trainer keeps the flow, Adam's moments, a copy of the weights at the end of the last good epoch and,
/// with early stopping, the best epoch's weights. Dispose the trainer to free them (it owns <see cref="Module"/>).</para>
/// <para>Reproducible on the CPU: the initial weights come from <see cref="UFlowConfig.Seed"/>, the sample order from
/// <see cref="UFlowTorchTrainingOptions.Seed"/>; nothing draws from torch's global generator.</para>
/// <para>Not thread-safe; TorchSharp's dispose scopes are per thread, so call it from one thread.</para>
/// </remarks>
internal sealed class UFlowTorchTrainer : IDisposable
{
    private readonly HeldScalarAdam _optimizer;
    private readonly Parameter[] _parameters;
    private readonly HostTensor[] _batch;
    private Tensor[]? _lastGood;
    private Tensor[]? _best;
    private bool _disposed;

    /// <summary>
    /// Builds the flow for <paramref name="config"/> on <see cref="UFlowTorchTrainingOptions.Device"/> and a fresh Adam
    /// over its parameters.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    /// <exception cref="InvalidOperationException">libtorch cannot be loaded or the device is not available (the message names the package to reference).</exception>
    public UFlowTorchTrainer(UFlowConfig config, UFlowTorchTrainingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Options = options ?? new UFlowTorchTrainingOptions();
        Options.Validate();
        Device device = TorchRuntime.Resolve(Options.Device);
        Module = new UFlowModule(config, device);
        try
        {
            _parameters = Module.parameters().ToArray();
            _optimizer = new HeldScalarAdam(_parameters, Options.LearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, Options.WeightDecay);
        }
        catch
        {
            Module.Dispose();
            throw;
        }
        _batch = Enumerable.Range(0, config.Scales.Count).Select(_ => new HostTensor(1)).ToArray();
    }

    /// <summary>The flow being trained (owned by the trainer).</summary>
    public UFlowModule Module { get; }

    /// <summary>The settings.</summary>
    public UFlowTorchTrainingOptions Options { get; }

    /// <summary>The optimiser (its learning rate is set per epoch by the schedule).</summary>
    public HeldScalarAdam Optimizer => _optimizer;

    /// <summary>Epochs completed so far over every <see cref="Train"/> call; the next call continues with this epoch (its shuffle and learning rate).</summary>
    public int CompletedEpochs { get; private set; }

    /// <summary>The number of training samples of the completed epochs (0 before the first); a continued run must use as many.</summary>
    public int SampleCount { get; private set; }

    /// <summary>The early-stopping state carried between <see cref="Train"/> calls.</summary>
    public UFlowEarlyStoppingState EarlyStopping { get; private set; } = UFlowEarlyStoppingState.Initial;

    /// <summary>Whether the last <see cref="Train"/> ended by restoring the best epoch's weights.</summary>
    public bool BestWeightsRestored { get; private set; }

    /// <summary>What the completed epochs' features looked like (null before the first <see cref="Train"/>).</summary>
    internal TrainingDataFingerprint? DataFingerprint { get; private set; }

    /// <summary>
    /// The images held out of the training data by the caller (kept with checkpoints so that a continued run holds out the
    /// same ones); null when none were recorded. The trainer itself never reads them.
    /// </summary>
    internal HeldOutSplit? HeldOut { get; set; }

    /// <summary>What the held-out images' features looked like (null when none were recorded).</summary>
    internal TrainingDataFingerprint? HeldOutData { get; set; }

    /// <summary>The parameters in the optimiser's order (that of <see cref="nn.Module.parameters"/>).</summary>
    internal IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The best validated epoch's weights (parameter order), when kept; null otherwise.</summary>
    internal IReadOnlyList<Tensor>? BestWeights => _best;

    /// <summary>Restores a checkpoint's bookkeeping (the weights and Adam's state are restored by the caller); takes ownership of <paramref name="best"/>.</summary>
    internal void RestoreProgress(int completedEpochs, int sampleCount, TrainingDataFingerprint? data, UFlowEarlyStoppingState earlyStopping, Tensor[]? best)
    {
        CompletedEpochs = completedEpochs;
        SampleCount = sampleCount;
        DataFingerprint = data;
        EarlyStopping = earlyStopping;
        foreach (Tensor t in _best ?? []) t.Dispose();
        _best = best;
    }

    /// <summary>The flow's state dictionary (parameters and permutations, see <see cref="UFlowStateDictionary"/>).</summary>
    public IReadOnlyDictionary<string, StateTensor> GetState()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return UFlowStateDictionary.Export(Module);
    }

    /// <summary>
    /// One optimisation step on a batch already on the device (finest scale first): zero gradients, forward, loss, backward,
    /// Adam step. Returns the loss before the update; when it is not finite, no update is made. The gradients stay in the
    /// parameters until the next step.
    /// </summary>
    public float Step(IReadOnlyList<Tensor> features)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var scope = NewDisposeScope();
        Module.zero_grad();
        float loss = ComputeGradients(features, 1.0);
        if (float.IsFinite(loss)) _optimizer.Step();
        return loss;
    }

    /// <summary>
    /// Runs epochs <see cref="CompletedEpochs"/> … <see cref="UFlowTorchTrainingOptions.Epochs"/> − 1 over
    /// <paramref name="source"/>.
    /// </summary>
    /// <exception cref="FlowTrainingDivergedException">The loss or a weight became NaN or infinite; the weights of the end of the previous epoch were restored.</exception>
    /// <exception cref="InvalidDataException">A feature batch holds NaN or infinite values (the message names epoch, step, scale and sample); the weights of the end of the previous epoch were restored.</exception>
    public UFlowTrainingResult Train(IFeatureBatchSource source, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(source);
        if (source.Count == 0) throw new ArgumentException("The training source has no samples.", nameof(source));
        if (CompletedEpochs > 0 && source.Count != SampleCount)
        {
            throw new ArgumentException($"The training source has {source.Count} samples, but the {CompletedEpochs} epochs already completed used {SampleCount}; a continued run needs the same training data.", nameof(source));
        }
        TrainingDataFingerprint data = TrainingDataFingerprint.Of(source, Module.ScaleCount);
        if (CompletedEpochs > 0) DataFingerprint?.RequireSame(data, CompletedEpochs, nameof(source));
        SampleCount = source.Count;
        DataFingerprint ??= data;
        BestWeightsRestored = false;
        KeepBestWeightsOfContinuedRun();
        var shuffle = new SeededRandom(Options.Seed);
        // Each epoch draws one permutation from the seeded stream: replay the completed epochs' draws to continue it.
        for (int e = 0; e < CompletedEpochs; e++) shuffle.Permutation(source.Count);
        var reports = new List<UFlowEpochReport>();
        _lastGood = Snapshot(_lastGood);
        UFlowEarlyStoppingState stopping = EarlyStopping;
        bool stoppedEarly = false;
        int[] order = new int[source.Count];
        for (int epoch = CompletedEpochs; epoch < Options.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            double lr = Options.LearningRateAt(epoch);
            _optimizer.LearningRate = lr;
            shuffle.Permutation(source.Count).CopyTo(order, 0);
            double lossSum = 0;
            int step = 0;
            for (int start = 0; start < order.Length; start += Options.BatchSize, step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int count = Math.Min(Options.BatchSize, order.Length - start);
                float loss = TrainBatch(source, order.AsSpan(start, count), epoch, step);
                if (!float.IsFinite(loss)) Diverged(epoch, step, $"the loss is {loss}");
                lossSum += (double)loss * count;
                Options.StepCompleted?.Invoke();
            }
            // A weight that went bad makes the next batch's loss non-finite; the last batch of an epoch is checked here.
            if (FirstNonFinite() is { } bad) Diverged(epoch, step - 1, $"parameter '{bad}' contains NaN or Inf");
            Snapshot(_lastGood);

            double? metric;
            using (no_grad()) metric = Options.ValidationMetric?.Invoke(Module, epoch);
            if (metric is { } m)
            {
                if (stopping.BestMetric is null || m > stopping.BestMetric)
                {
                    stopping = new UFlowEarlyStoppingState(m, epoch, 0);
                    if (Options.RestoreBestWeights) _best = Snapshot(_best);
                }
                else
                {
                    stopping = stopping with { EpochsSinceBest = stopping.EpochsSinceBest + 1 };
                }
            }
            CompletedEpochs = epoch + 1;
            EarlyStopping = stopping;
            var report = new UFlowEpochReport
            {
                Epoch = epoch,
                Loss = lossSum / order.Length,
                LearningRate = lr,
                Metric = metric,
                BestMetric = stopping.BestMetric,
                BestEpoch = stopping.BestEpoch,
                Elapsed = clock.Elapsed,
            };
            reports.Add(report);
            Options.EpochCompleted?.Invoke(report);
            if (report.StopRequested || (stopping.BestMetric is not null && stopping.EpochsSinceBest >= Options.EarlyStoppingPatience))
            {
                stoppedEarly = epoch < Options.Epochs - 1;
                break;
            }
        }
        if (_best is not null && Options.RestoreBestWeights)
        {
            Restore(_best);
            BestWeightsRestored = true;
        }
        return new UFlowTrainingResult { Epochs = reports, BestMetric = stopping.BestMetric, BestEpoch = stopping.BestEpoch, StoppedEarly = stoppedEarly };
    }

    // A run continued with RestoreBestWeights whose earlier epochs did not keep the best weights (made without it): when
    // the best epoch is the last one completed, the current weights are its weights; otherwise they are lost.
    private void KeepBestWeightsOfContinuedRun()
    {
        if (!Options.RestoreBestWeights || Options.ValidationMetric is null || _best is not null || EarlyStopping.BestMetric is null) return;
        if (EarlyStopping.BestEpoch != CompletedEpochs - 1)
        {
            throw new ArgumentException($"The run being continued did not keep the weights of its best epoch ({EarlyStopping.BestEpoch}, of {CompletedEpochs} completed), so they cannot be restored at the end; continue it without restoring the best weights (without early stopping), or train anew.");
        }
        _best = Snapshot(null);
    }

    // One optimisation step on the given samples: at once, or as micro-batches of at most MicroBatchSize samples whose
    // gradients (each loss weighted by its share of the batch) add up to the batch's before the one Adam step.
    // Returns the batch's mean loss, or the first non-finite micro-batch loss (then no update is made).
    private float TrainBatch(IFeatureBatchSource source, ReadOnlySpan<int> samples, int epoch, int step)
    {
        using var scope = NewDisposeScope();
        int micro = Math.Min(Options.MicroBatchSize ?? samples.Length, samples.Length);
        Module.zero_grad();
        double weightedLoss = 0;
        for (int start = 0; start < samples.Length; start += micro)
        {
            int size = Math.Min(micro, samples.Length - start);
            ReadOnlySpan<int> part = samples.Slice(start, size);
            source.ReadBatch(part, _batch);
            CheckFinite(part, epoch, step);
            using var microScope = NewDisposeScope();
            var features = new Tensor[_batch.Length];
            for (int l = 0; l < features.Length; l++) features[l] = HostTensorCopy.ToTorch(_batch[l], Module.Device);
            float loss = ComputeGradients(features, size == samples.Length ? 1.0 : (double)size / samples.Length);
            if (!float.IsFinite(loss)) return loss;
            weightedLoss += (double)loss * size;
        }
        _optimizer.Step();
        return (float)(weightedLoss / samples.Length);
    }

    // Forward, loss and (when the loss is finite) backward of weight·loss, adding to the gradients. Returns the loss.
    private float ComputeGradients(IReadOnlyList<Tensor> features, double weight)
    {
        using var scope = NewDisposeScope();
        (Tensor[] latents, Tensor logDet) = Module.call(features);
        Tensor loss = UFlowTorchLoss.Compute(latents, logDet);
        float value = loss.item<float>();
        if (!float.IsFinite(value)) return value;
        using Scalar lossWeight = weight; // held to the end (see HeldScalars)
        (weight == 1.0 ? loss : loss.mul(lossWeight)).backward();
        return value;
    }

    private void CheckFinite(ReadOnlySpan<int> samples, int epoch, int step)
    {
        for (int l = 0; l < _batch.Length; l++)
        {
            for (int i = 0; i < samples.Length; i++)
            {
                if (float.IsFinite(TensorPrimitives.MaxMagnitude(_batch[l].Sample(i)))) continue;
                Restore(_lastGood!);
                throw new InvalidDataException(
                    $"U-Flow training stopped in epoch {epoch}, step {step}: the features of sample {samples[i]} at scale {l} contain NaN or infinite values. " +
                    $"The flow was reset to the last good weights (end of epoch {epoch - 1}); check the images and the feature extractor.");
            }
        }
    }

    private void Diverged(int epoch, int step, string what)
    {
        Restore(_lastGood!);
        throw new FlowTrainingDivergedException(epoch, step, what);
    }

    private string? FirstNonFinite()
    {
        using var scope = NewDisposeScope();
        foreach ((string name, Parameter p) in Module.named_parameters())
        {
            if (!p.isfinite().all().item<bool>()) return name;
        }
        return null;
    }

    // Copies the parameters into `into` (allocated on first use, kept outside any dispose scope).
    private Tensor[] Snapshot(Tensor[]? into)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        if (into is null)
        {
            into = new Tensor[_parameters.Length];
            for (int i = 0; i < into.Length; i++) into[i] = _parameters[i].detach().clone().DetachFromDisposeScope();
            return into;
        }
        for (int i = 0; i < into.Length; i++) into[i].copy_(_parameters[i]);
        return into;
    }

    private void Restore(Tensor[] from)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (int i = 0; i < from.Length; i++) _parameters[i].copy_(from[i]);
    }

    /// <summary>Frees the flow, the optimiser state and the weight copies.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _optimizer.Dispose();
        Module.Dispose();
        foreach (Tensor t in _lastGood ?? []) t.Dispose();
        foreach (Tensor t in _best ?? []) t.Dispose();
    }
}
