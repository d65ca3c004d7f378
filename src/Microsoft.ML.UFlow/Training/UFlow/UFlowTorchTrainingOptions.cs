namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Settings of <see cref="UFlowTorchTrainer"/> (METHOD.md A.5), the same as v1's <c>UFlowTrainingOptions</c> plus
/// the device: Adam with classic L2 weight decay 1e-5, LinearLR(1.0 → 0.4 over 25 000 iterations) stepped once per
/// epoch, shuffled batches with drop_last = false, early stopping with patience 20 on a validation metric (mode max).
/// </summary>
internal sealed class UFlowTorchTrainingOptions
{
    /// <summary>The default device.</summary>
    public const string DefaultDevice = "cpu";

    /// <summary>Training device: "cpu", "cuda" or "cuda:N" (default "cpu"; see <see cref="TorchRuntime.Resolve"/>).</summary>
    public string Device { get; set; } = DefaultDevice;

    /// <summary>Adam learning rate (default 1e-4, <c>configs/mvtec_default.yaml</c>; the per-category values are in A.5).</summary>
    public double LearningRate { get; set; } = 1e-4;

    /// <summary>Classic L2 weight decay added to the gradient (default 1e-5), not AdamW's decoupled decay.</summary>
    public double WeightDecay { get; set; } = 1e-5;

    /// <summary>Batch size (default 8); the last batch of an epoch may be smaller.</summary>
    public int BatchSize { get; set; } = 8;

    /// <summary>
    /// Samples per forward/backward pass (default null: the whole batch). A larger batch is processed in micro-batches
    /// whose gradients are accumulated before its one optimiser step: the update of <see cref="BatchSize"/> (up to float
    /// rounding) with the activation memory of a micro-batch.
    /// </summary>
    public int? MicroBatchSize { get; set; }

    /// <summary>Number of epochs to run at most (default 200; the official trainer runs epochs + 1).</summary>
    public int Epochs { get; set; } = 200;

    /// <summary>Seed of the per-epoch shuffling (default 0): the same sample order as v1's trainer for the same seed.</summary>
    public ulong Seed { get; set; }

    /// <summary>LinearLR end factor (default 0.4).</summary>
    public double LearningRateEndFactor { get; set; } = 0.4;

    /// <summary>LinearLR total iterations, counted in epochs as the official scheduler is stepped per epoch (default 25 000).</summary>
    public int LearningRateTotalIters { get; set; } = 25_000;

    /// <summary>Training stops once this many consecutive validated epochs bring no improvement (default 20; needs <see cref="ValidationMetric"/>).</summary>
    public int EarlyStoppingPatience { get; set; } = 20;

    /// <summary>Whether the weights of the best-metric epoch are restored at the end (default true; needs <see cref="ValidationMetric"/>).</summary>
    public bool RestoreBestWeights { get; set; } = true;

    /// <summary>
    /// Optional validation metric computed after each epoch (higher is better, e.g. pixel AUROC); receives the flow and the
    /// 0-based epoch. Return null to skip an epoch.
    /// </summary>
    public Func<UFlowModule, int, double?>? ValidationMetric { get; set; }

    /// <summary>Optional callback after each optimiser step of <see cref="UFlowTorchTrainer.Train"/> (one per batch).</summary>
    public Action? StepCompleted { get; set; }

    /// <summary>Optional per-epoch report; set <see cref="UFlowEpochReport.StopRequested"/> to stop after this epoch.</summary>
    public Action<UFlowEpochReport>? EpochCompleted { get; set; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Device)) throw new ArgumentOutOfRangeException(nameof(Device), Device, "The device must be \"cpu\", \"cuda\" or \"cuda:N\".");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be positive.");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "The weight decay must not be negative.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "The batch size must be at least 1.");
        if (MicroBatchSize is < 1) throw new ArgumentOutOfRangeException(nameof(MicroBatchSize), MicroBatchSize, "The micro-batch size must be at least 1.");
        if (Epochs < 0) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must not be negative.");
        if (LearningRateTotalIters < 1) throw new ArgumentOutOfRangeException(nameof(LearningRateTotalIters), LearningRateTotalIters, "Total iterations must be at least 1.");
        if (EarlyStoppingPatience < 0) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "Patience must not be negative.");
    }

    /// <summary>The learning rate of epoch <paramref name="epoch"/> (0-based): lr·(1 + (end − 1)·min(e, T)/T).</summary>
    public double LearningRateAt(int epoch) => LearningRate * (1.0 + (LearningRateEndFactor - 1.0) * Math.Min(epoch, LearningRateTotalIters) / LearningRateTotalIters);
}
