using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>
/// Trains CS-Flow (METHOD.md Part C) on the three-scale features of normal images (see
/// <see cref="TransformsCatalog.ApplyOnnxFeaturizerForCsFlow"/>). Features are read once and cached.
/// </summary>
public sealed class CsFlowTrainer : IEstimator<CsFlowScoreTransformer>
{
    /// <summary>Options of <see cref="CsFlowTrainer"/>; defaults are CS-Flow's (METHOD.md C.3).</summary>
    public sealed class Options
    {
        /// <summary>The three-scale feature column (default <c>Features</c>).</summary>
        public string FeatureColumnName { get; set; } = UFlowColumns.Features;

        /// <summary>Epochs (default 60).</summary>
        public int Epochs { get; set; } = 60;

        /// <summary>Batch size (default 16).</summary>
        public int BatchSize { get; set; } = 16;

        /// <summary>Adam learning rate (default 2e-4).</summary>
        public double LearningRate { get; set; } = 2e-4;

        /// <summary>Hidden width of the cross-scale subnetworks (default 1024).</summary>
        public int HiddenChannels { get; set; } = 1024;

        /// <summary>Seed of weights and shuffling; null uses the context's seed.</summary>
        public int? Seed { get; set; }

        /// <summary>Side S of the anomaly map (default 256).</summary>
        public int OutputSize { get; set; } = UFlowColumns.EvaluationSize;

        /// <summary>Bytes of cached features kept in memory before the rest spills to a temporary file (default 4 GiB).</summary>
        public long FeatureCacheBudgetBytes { get; set; } = 4L << 30;

        /// <summary>
        /// A file for the training state (model, optimiser, epochs done; <see cref="CsFlowTrainingCheckpoint"/>), saved
        /// atomically after every epoch (default null: none). If it exists when <see cref="Fit"/> starts, training
        /// continues from it exactly where it stopped — the features are computed again, the epochs are not — provided
        /// the options and training images are those it was made with (anything else is refused); delete it to start anew.
        /// </summary>
        public string? CheckpointPath { get; set; }

        /// <summary>
        /// Receives featurisation and training progress (not saved): one <c>train</c> report per step, whose loss is the
        /// mean of the last finished epoch (null during the first), and one more at the end of every epoch.
        /// </summary>
        public IProgress<TrainingProgress>? Progress { get; set; }
    }

    private readonly Options _options;
    private readonly int _seed;

    internal CsFlowTrainer(Options options, int contextSeed)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "Epochs must be at least 1.");
        if (options.OutputSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.OutputSize, "OutputSize must be positive.");
        if (options.FeatureCacheBudgetBytes < 0) throw new ArgumentOutOfRangeException(nameof(options), options.FeatureCacheBudgetBytes, "FeatureCacheBudgetBytes must not be negative.");
        _options = options;
        _seed = options.Seed ?? contextSeed;
    }

    /// <inheritdoc/>
    public DataSchema GetOutputSchema(DataSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        inputSchema.Require(_options.FeatureColumnName, ColumnType.FeatureMaps(3), nameof(CsFlowTrainer));
        return inputSchema.With(
            new SchemaColumn(UFlowColumns.AnomalyMap, ColumnType.Tensor(_options.OutputSize, _options.OutputSize)),
            new SchemaColumn(UFlowColumns.Score, ColumnType.Single),
            new SchemaColumn(UFlowColumns.PredictedLabel, ColumnType.Boolean));
    }

    /// <inheritdoc/>
    public CsFlowScoreTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(input.Schema);
        var progress = _options.Progress;
        var collected = TrainingFeatures.Collect(input, _options.FeatureColumnName, _options.FeatureCacheBudgetBytes,
            nameof(CsFlowTrainer), CheckRow, progress);
        using var cache = collected.Cache;
        var first = collected.FirstRow;
        int n = cache.Count, batch = Math.Min(_options.BatchSize, n);
        int totalSteps = (n + batch - 1) / batch * _options.Epochs;
        var trainer = new Flows.CsFlow.CsFlowTrainer(new CsFlowTrainerOptions
        {
            Epochs = _options.Epochs,
            BatchSize = batch,
            LearningRate = _options.LearningRate,
            ShuffleSeed = (ulong)(uint)_seed,
            Network = new CsFlowNetworkOptions { Channels = first[0].Shape[0], HiddenChannels = _options.HiddenChannels, Seed = (ulong)(uint)_seed },
        });
        CsFlowTrainingState state = _options.CheckpointPath is { } saved && File.Exists(saved)
            ? Continue(saved, trainer)
            : trainer.Start(new CsFlowModel(new CsFlowNetwork(trainer.Options.Network.Clone())));
        int step = state.Optimizer.StepCount;
        // Each step report carries the mean loss of the last finished epoch.
        double? epochLoss = null;
        trainer.Options.StepCompleted = () =>
        {
            step++;
            progress?.Report(new TrainingProgress("train", step, totalSteps, epochLoss));
        };
        var source = new CachedFeatureSource(cache);
        trainer.Train(state, source, new EpochLossSink(report =>
        {
            epochLoss = report.MeanLoss;
            if (_options.CheckpointPath is not null) CsFlowTrainingCheckpoint.Save(trainer, state, _options.CheckpointPath);
            progress?.Report(new TrainingProgress("train", step, totalSteps, epochLoss));
        }));
        CsFlowModel model = state.Model;
        var scorer = new CsFlowScoreTransformer(model, _options.FeatureColumnName, _options.OutputSize, float.PositiveInfinity);
        var one = first.Select(_ => new Tensor(1)).ToArray();
        float max = TrainingThreshold.FromTrainingScores(nameof(CsFlowTrainer), n, i =>
        {
            cache.ReadBatch([i], one);
            return scorer.Score(one).Score;
        });
        return scorer.WithThreshold(max);
    }

    private CsFlowTrainingState Continue(string path, Flows.CsFlow.CsFlowTrainer trainer)
    {
        CsFlowTrainingState state = CsFlowTrainingCheckpoint.Load(path, trainer);
        if (state.CompletedEpochs >= trainer.Options.Epochs)
        {
            throw new ArgumentException($"{nameof(CsFlowTrainer)}: the checkpoint '{path}' already holds {state.CompletedEpochs} epochs, and Epochs is {trainer.Options.Epochs}: raise Epochs to train further, or delete it to train anew.");
        }
        return state;
    }

    /// <summary>Receives the epoch reports synchronously, on the training thread (<see cref="Progress{T}"/> would post them).</summary>
    private sealed class EpochLossSink(Action<CsFlowEpochReport> onEpoch) : IProgress<CsFlowEpochReport>
    {
        public void Report(CsFlowEpochReport value) => onEpoch(value);
    }

    /// <summary>
    /// Row 0 must hold three C×H×W maps with one channel count, each scale half the previous; every later row must
    /// match row 0 exactly. The error names the column, the row, the map and both shapes.
    /// </summary>
    private void CheckRow(Tensor[] maps, Tensor[]? first, int row)
    {
        string column = _options.FeatureColumnName;
        if (maps is null || maps.Length != 3)
        {
            throw new ArgumentException($"{nameof(CsFlowTrainer)}: column '{column}', row {row} holds {maps?.Length ?? 0} feature maps; CS-Flow needs 3 (scales 0, 1, 2).");
        }
        for (int s = 0; s < 3; s++)
        {
            if (maps[s] is null || maps[s].Rank != 3)
            {
                throw new ArgumentException($"{nameof(CsFlowTrainer)}: column '{column}', row {row}, map {s} is {maps[s]?.ToString() ?? "null"}; expected a C×H×W tensor.");
            }
            if (first is not null && !first[s].SameShape(maps[s].Shape))
            {
                throw new ArgumentException($"{nameof(CsFlowTrainer)}: column '{column}', row {row}, map {s} has shape {maps[s]} but row 0 has {first[s]} (expected); all training images must give maps of one size (resize them to one input size).");
            }
        }
        if (first is null)
        {
            try
            {
                CrossScaleSubnet.CheckScales(maps.Select(m => m.Reshape(1, m.Shape[0], m.Shape[1], m.Shape[2])).ToArray(), maps[0].Shape[0], $"{column} (row {row})");
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"{nameof(CsFlowTrainer)}: {e.Message}", e);
            }
        }
    }
}
