using System.Diagnostics;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Optim;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows;

/// <summary>
/// Trains a <see cref="UShapedFlow"/> on cached features (METHOD.md A.4–A.5): per epoch a seeded shuffle, batches with
/// drop_last = false, the official loss, Adam with L2 weight decay, the LinearLR schedule stepped per epoch, a report
/// and an optional validation metric with early stopping.
/// </summary>
public sealed class UFlowTrainer
{
    private readonly Tensor[] _batch;
    private readonly Tensor[] _gradLatents;
    private float[] _gradLogDet = [];
    private float[][]? _best;
    private bool _bestRestored;

    /// <summary>Creates a trainer for <paramref name="flow"/>; the optimiser state starts fresh.</summary>
    public UFlowTrainer(UShapedFlow flow, UFlowTrainingOptions? options = null)
    {
        Flow = flow ?? throw new ArgumentNullException(nameof(flow));
        Options = options ?? new UFlowTrainingOptions();
        Options.Validate();
        Optimizer = new Adam(flow.Parameters, new AdamOptions { LearningRate = Options.LearningRate, WeightDecay = Options.WeightDecay });
        _batch = Enumerable.Range(0, flow.ScaleCount).Select(_ => new Tensor(1)).ToArray();
        _gradLatents = Enumerable.Range(0, flow.ScaleCount).Select(_ => new Tensor(1)).ToArray();
    }

    /// <summary>The flow being trained.</summary>
    public UShapedFlow Flow { get; }

    /// <summary>The settings.</summary>
    public UFlowTrainingOptions Options { get; }

    /// <summary>The optimiser (its learning rate is set per epoch by the schedule).</summary>
    public Adam Optimizer { get; }

    /// <summary>
    /// Epochs completed so far, over every <see cref="Train"/> call and any checkpoint this trainer was resumed from;
    /// the next call to <see cref="Train"/> continues with epoch <see cref="CompletedEpochs"/> (its shuffle and learning rate).
    /// </summary>
    public int CompletedEpochs { get; private set; }

    /// <summary>The number of training samples of the epochs completed so far (0 before the first); a continued run must use as many.</summary>
    public int SampleCount { get; private set; }

    /// <summary>The early-stopping state carried between <see cref="Train"/> calls and checkpoints.</summary>
    public UFlowEarlyStoppingState EarlyStopping { get; private set; } = UFlowEarlyStoppingState.Initial;

    /// <summary>What the completed epochs' features looked like (null before the first <see cref="Train"/>, or when resumed from a checkpoint of format 1).</summary>
    internal TrainingDataFingerprint? DataFingerprint { get; private set; }

    /// <summary>The weights of the best validated epoch when <see cref="UFlowTrainingOptions.RestoreBestWeights"/> is on (null otherwise or before any).</summary>
    internal float[][]? BestWeights => _best;

    /// <summary>Whether <see cref="Train"/> ended by restoring the best epoch's weights (so the flow does not hold the last epoch's).</summary>
    internal bool BestWeightsRestored => _bestRestored;

    /// <summary>Restores the bookkeeping of a checkpoint (the flow's weights and Adam's state are restored by the caller).</summary>
    internal void RestoreProgress(int completedEpochs, int sampleCount, TrainingDataFingerprint? data, UFlowEarlyStoppingState earlyStopping, float[][]? best)
    {
        CompletedEpochs = completedEpochs;
        SampleCount = sampleCount;
        DataFingerprint = data;
        EarlyStopping = earlyStopping;
        _best = best;
    }

    /// <summary>
    /// One optimisation step on a batch: zero gradients, forward, loss, backward, Adam step. Returns the loss (before the
    /// update). When the loss is not finite no update is made (so neither the weights nor Adam's moments see the bad
    /// batch) and the caller decides what to do; the weights themselves are not checked here.
    /// </summary>
    public double Step(IReadOnlyList<Tensor> features)
    {
        Optimizer.ZeroGrad();
        double loss = ComputeGradients(features);
        if (double.IsFinite(loss)) Optimizer.Step();
        return loss;
    }

    /// <summary>
    /// Runs forward, loss and backward, adding to the gradients (they are not zeroed). Returns the loss (the mean over
    /// these samples); backward is skipped when it is not finite. <paramref name="gradientBatchSize"/> (0 = these
    /// samples) is the batch the gradients are averaged over, so that the micro-batches of one batch add up to its gradient.
    /// </summary>
    public double ComputeGradients(IReadOnlyList<Tensor> features, int gradientBatchSize = 0)
    {
        FlowOutput output = Flow.Forward(features);
        int n = output.LogDet.Length;
        if (_gradLogDet.Length != n) _gradLogDet = new float[n];
        double loss = UFlowLoss.Compute(output, _gradLatents, _gradLogDet, gradientBatchSize);
        if (!double.IsFinite(loss)) return loss;
        Flow.Backward(_gradLatents, _gradLogDet);
        return loss;
    }

    /// <summary>
    /// Runs epochs <see cref="CompletedEpochs"/> … <see cref="UFlowTrainingOptions.Epochs"/> − 1 over
    /// <paramref name="source"/>: all of them for a new trainer, the rest for one resumed from a checkpoint
    /// (<see cref="UFlowTrainingCheckpoint"/>), which continues exactly as if it had not been interrupted.
    /// </summary>
    /// <exception cref="FlowTrainingDivergedException">The loss or a weight became NaN/Inf; the last good weights were restored.</exception>
    public UFlowTrainingResult Train(IFeatureBatchSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Count == 0) throw new ArgumentException("The training source has no samples.", nameof(source));
        if (CompletedEpochs > 0 && source.Count != SampleCount)
        {
            throw new ArgumentException($"The training source has {source.Count} samples, but the {CompletedEpochs} epochs already completed used {SampleCount}; a continued run needs the same training data.", nameof(source));
        }
        TrainingDataFingerprint data = TrainingDataFingerprint.Of(source, Flow.ScaleCount);
        if (CompletedEpochs > 0) DataFingerprint?.RequireSame(data, CompletedEpochs, nameof(source));
        SampleCount = source.Count;
        DataFingerprint ??= data;
        _bestRestored = false;
        var shuffle = new SeededRandom(Options.Seed);
        // Each epoch draws one permutation from the seeded stream: replay the completed epochs' draws to continue it.
        for (int e = 0; e < CompletedEpochs; e++) shuffle.Permutation(source.Count);
        var reports = new List<UFlowEpochReport>();
        float[][] lastGood = Snapshot(null);
        UFlowEarlyStoppingState stopping = EarlyStopping;
        bool stoppedEarly = false;
        int[] order = new int[source.Count];
        for (int epoch = CompletedEpochs; epoch < Options.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            double lr = Options.LearningRateAt(epoch);
            Optimizer.Options.LearningRate = lr;
            shuffle.Permutation(source.Count).CopyTo(order, 0);
            double lossSum = 0;
            int batchIndex = 0;
            for (int start = 0; start < order.Length; start += Options.BatchSize, batchIndex++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int count = Math.Min(Options.BatchSize, order.Length - start);
                double loss = TrainBatch(source, order.AsSpan(start, count));
                if (!double.IsFinite(loss)) Diverged(lastGood, epoch, batchIndex, $"the loss is {loss}");
                if (FirstNonFinite() is { } bad) Diverged(lastGood, epoch, batchIndex, $"parameter '{bad}' contains NaN or Inf");
                lossSum += loss * count;
                Options.StepCompleted?.Invoke();
            }
            Snapshot(lastGood);

            double? metric = Options.ValidationMetric?.Invoke(Flow, epoch);
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
        if (_best is not null)
        {
            Restore(_best);
            _bestRestored = true;
        }
        return new UFlowTrainingResult { Epochs = reports, BestMetric = stopping.BestMetric, BestEpoch = stopping.BestEpoch, StoppedEarly = stoppedEarly };
    }

    // One optimisation step on the given samples: at once, or as micro-batches of at most MicroBatchSize samples whose
    // gradients (each averaged over the whole batch) are accumulated before the one Adam step.
    private double TrainBatch(IFeatureBatchSource source, ReadOnlySpan<int> samples)
    {
        int micro = Options.MicroBatchSize ?? samples.Length;
        if (micro >= samples.Length)
        {
            source.ReadBatch(samples, _batch);
            return Step(_batch);
        }
        Optimizer.ZeroGrad();
        double weightedLoss = 0;
        for (int start = 0; start < samples.Length; start += micro)
        {
            int size = Math.Min(micro, samples.Length - start);
            source.ReadBatch(samples.Slice(start, size), _batch);
            double loss = ComputeGradients(_batch, samples.Length);
            if (!double.IsFinite(loss)) return loss;
            weightedLoss += loss * size;
        }
        Optimizer.Step();
        return weightedLoss / samples.Length;
    }

    private void Diverged(float[][] lastGood, int epoch, int batch, string what)
    {
        Restore(lastGood);
        throw new FlowTrainingDivergedException(epoch, batch, what);
    }

    private string? FirstNonFinite()
    {
        foreach (Parameter p in Flow.Parameters)
        {
            if (!float.IsFinite(TensorPrimitives.MaxMagnitude(p.Value.Span))) return p.Name;
        }
        return null;
    }

    private float[][] Snapshot(float[][]? into)
    {
        IReadOnlyList<Parameter> ps = Flow.Parameters;
        into ??= ps.Select(p => new float[p.Value.Length]).ToArray();
        for (int i = 0; i < ps.Count; i++) ps[i].Value.Span.CopyTo(into[i]);
        return into;
    }

    private void Restore(float[][] from)
    {
        IReadOnlyList<Parameter> ps = Flow.Parameters;
        for (int i = 0; i < ps.Count; i++) from[i].CopyTo(ps[i].Value.Span);
    }
}
