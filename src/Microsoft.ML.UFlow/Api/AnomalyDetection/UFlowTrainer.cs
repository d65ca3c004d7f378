using System.Diagnostics;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>
/// Trains U-Flow (METHOD.md A.3–A.5) on the multi-scale features of normal images. The features are read once (this is
/// when upstream transforms such as the ONNX featurizer run) and cached in memory; the flow then trains on the cache
/// with Adam (L2 weight decay, constant learning rate), shuffled mini-batches without dropping the last one.
/// </summary>
public sealed class UFlowTrainer : IEstimator<AnomalyScoreTransformer>
{
    /// <summary>Options of <see cref="UFlowTrainer"/>; the defaults are those for CNN backbones on two CPU cores.</summary>
    public sealed class Options
    {
        /// <summary>
        /// The default number of epochs (30, with <see cref="DefaultLearningRate"/>): measured on MVTec AD bottle with MobileNetV2
        /// features at 256 on 2 CPU cores, pixel AUROC 0.950 for about 6 CPU-minutes of featurising and training. The official
        /// configuration (lr 1e-4, 200 epochs) is a GPU budget; with lr 1e-4, 20 epochs reached only 0.855.
        /// </summary>
        public const int DefaultEpochs = 30;

        /// <summary>The default Adam learning rate (1e-3, anomalib's U-Flow default; the official MVTec default config uses 1e-4 with 200 epochs).</summary>
        public const double DefaultLearningRate = 1e-3;

        /// <summary>The feature-maps column (default <c>Features</c>).</summary>
        public string FeatureColumnName { get; set; } = UFlowColumns.Features;

        /// <summary>Training epochs over the cached features (default <see cref="DefaultEpochs"/>; the paper uses 200–500 on a GPU).</summary>
        public int Epochs { get; set; } = DefaultEpochs;

        /// <summary>Mini-batch size (default 8, the official MVTec default config).</summary>
        public int BatchSize { get; set; } = 8;

        /// <summary>
        /// Samples per forward/backward pass (default null: the whole batch). Smaller values train the same updates as
        /// <see cref="BatchSize"/> (gradients accumulated over the micro-batches, up to float rounding) in less memory.
        /// </summary>
        public int? MicroBatchSize { get; set; }

        /// <summary>Adam learning rate (default <see cref="DefaultLearningRate"/>).</summary>
        public double LearningRate { get; set; } = DefaultLearningRate;

        /// <summary>L2 weight decay added to the gradient (default 1e-5, METHOD.md A.5).</summary>
        public double WeightDecay { get; set; } = 1e-5;

        /// <summary>Seed of initialisation, permutations and shuffling; null uses the context's seed.</summary>
        public int? Seed { get; set; }

        /// <summary>Flow steps per scale (default 4).</summary>
        public int FlowSteps { get; set; } = 4;

        /// <summary>LayerNorm of the features before the flow, trained with it (default true, as for CNN backbones in the paper).</summary>
        public bool FeatureLayerNorm { get; set; } = true;

        /// <summary>Hidden channels of the coupling subnets relative to their input (default 1).</summary>
        public double SubnetChannelsRatio { get; set; } = 1.0;

        /// <summary>Soft clamp of the affine coupling scales (default 2).</summary>
        public float AffineClamp { get; set; } = 2.0f;

        /// <summary>Side S of the anomaly map (default 256, METHOD.md A.6).</summary>
        public int OutputSize { get; set; } = UFlowColumns.EvaluationSize;

        /// <summary>Bytes of cached features kept in memory before the rest spills to a temporary file (default 4 GiB).</summary>
        public long FeatureCacheBudgetBytes { get; set; } = 4L << 30;

        /// <summary>
        /// A file for the training state (flow, optimiser, epochs done; <see cref="UFlowTrainingCheckpoint"/>), saved
        /// atomically after every epoch (default null: none). If it exists when <see cref="Fit"/> starts, training
        /// continues from it exactly where it stopped — the features are computed again, the epochs are not — provided
        /// the options and training images are those it was made with (anything else is refused); delete it to start anew.
        /// About three times the flow's size on disk.
        /// </summary>
        public string? CheckpointPath { get; set; }

        /// <summary>Receives featurisation and training progress (not saved with the model).</summary>
        public IProgress<TrainingProgress>? Progress { get; set; }

        internal void Validate()
        {
            if (string.IsNullOrEmpty(FeatureColumnName)) throw new ArgumentException("FeatureColumnName is empty.");
            if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "At least one epoch is needed.");
            if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "The batch size must be positive.");
            if (MicroBatchSize is < 1) throw new ArgumentOutOfRangeException(nameof(MicroBatchSize), MicroBatchSize, "The micro-batch size must be at least 1.");
            if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be positive.");
            if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "The weight decay must be ≥ 0.");
            if (FlowSteps < 1) throw new ArgumentOutOfRangeException(nameof(FlowSteps), FlowSteps, "At least one flow step is needed.");
            if (OutputSize < 1) throw new ArgumentOutOfRangeException(nameof(OutputSize), OutputSize, "The output size must be positive.");
        }
    }

    private readonly Options _options;
    private readonly int _seed;

    internal UFlowTrainer(Options options, int contextSeed)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _seed = options.Seed ?? contextSeed;
    }

    /// <inheritdoc/>
    public DataSchema GetOutputSchema(DataSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var col = inputSchema.Require(_options.FeatureColumnName, ColumnType.FeatureMaps(1), nameof(UFlowTrainer), acceptAnyScaleCount: true);
        int scales = ((FeatureMapsColumnType)col.Type).Scales;
        return inputSchema.With(
            new SchemaColumn(UFlowColumns.Latents, ColumnType.FeatureMaps(scales)),
            new SchemaColumn(UFlowColumns.AnomalyMap, ColumnType.Tensor(_options.OutputSize, _options.OutputSize)),
            new SchemaColumn(UFlowColumns.Score, ColumnType.Single),
            new SchemaColumn(UFlowColumns.PredictedLabel, ColumnType.Boolean));
    }

    /// <inheritdoc/>
    public AnomalyScoreTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(input.Schema);
        var progress = _options.Progress;
        var clock = Stopwatch.StartNew();

        // 1. Featurise once and cache (in memory up to the budget, then spilled to a temporary file).
        var collected = TrainingFeatures.Collect(input, _options.FeatureColumnName, _options.FeatureCacheBudgetBytes,
            nameof(UFlowTrainer), CheckSameShapes, progress);
        using var cache = collected.Cache;
        var firstMaps = collected.FirstRow;
        double featurizeSeconds = clock.Elapsed.TotalSeconds;

        // 2. The flow's configuration from the feature shapes.
        var config = new UFlowConfig(firstMaps.Select(m => new FlowScale(m.Shape[0], m.Shape[1], m.Shape[2])))
        {
            FlowSteps = _options.FlowSteps,
            SubnetChannelsRatio = _options.SubnetChannelsRatio,
            AffineClamp = _options.AffineClamp,
            FeatureLayerNorm = _options.FeatureLayerNorm,
            Seed = (ulong)(uint)_seed,
        };

        // 3. Train on the cache (Flows layer: Adam + L2, per-epoch LinearLR, seeded shuffle, divergence guard), or
        //    continue the training saved in the checkpoint.
        clock.Restart();
        int n = cache.Count, batchSize = Math.Min(_options.BatchSize, n);
        int totalSteps = (n + batchSize - 1) / batchSize * _options.Epochs;
        double runningLoss = double.NaN;
        var trainingOptions = new UFlowTrainingOptions
        {
            Epochs = _options.Epochs,
            BatchSize = batchSize,
            MicroBatchSize = _options.MicroBatchSize,
            LearningRate = _options.LearningRate,
            WeightDecay = _options.WeightDecay,
            Seed = (ulong)(uint)_seed,
        };
        Flows.UFlowTrainer trainer = _options.CheckpointPath is { } saved && File.Exists(saved)
            ? Continue(saved, trainingOptions, config)
            : new Flows.UFlowTrainer(new UShapedFlow(config), trainingOptions);
        UShapedFlow flow = trainer.Flow;
        int step = trainer.Optimizer.StepCount;
        trainingOptions.EpochCompleted = report =>
        {
            runningLoss = report.Loss;
            if (_options.CheckpointPath is not null) UFlowTrainingCheckpoint.Save(trainer, _options.CheckpointPath);
        };
        trainingOptions.StepCompleted = () =>
        {
            step++; // counted whether or not anyone listens: the summary reports it
            progress?.Report(new TrainingProgress("train", step, totalSteps, double.IsNaN(runningLoss) ? null : runningLoss));
        };
        var source = new CachedFeatureSource(cache);
        var result = trainer.Train(source);
        double trainSeconds = clock.Elapsed.TotalSeconds;
        var summary = new UFlowTrainingSummary(trainer.CompletedEpochs, step, n, result.Epochs[^1].Loss, featurizeSeconds, trainSeconds);

        // 4. Default threshold: the highest score among the training images (no training image is flagged).
        var scorer = new AnomalyScoreTransformer(flow, _options.FeatureColumnName, _options.OutputSize, float.PositiveInfinity, summary);
        var one = firstMaps.Select(_ => new Tensor(1)).ToArray();
        float maxScore = TrainingThreshold.FromTrainingScores(nameof(UFlowTrainer), n, i =>
        {
            cache.ReadBatch([i], one);
            return scorer.Score(one.Select(t => t.Reshape(t.C, t.H, t.W)).ToArray()).Score;
        });
        return scorer.WithThreshold(maxScore);
    }

    private Flows.UFlowTrainer Continue(string path, UFlowTrainingOptions options, UFlowConfig config)
    {
        Flows.UFlowTrainer trainer = UFlowTrainingCheckpoint.Load(path, options);
        // The configuration's text names every setting (scales, steps, ratio, clamp, LayerNorm, seed).
        if (trainer.Flow.Config.ToString() != config.ToString())
        {
            throw new ArgumentException($"{nameof(UFlowTrainer)}: the checkpoint '{path}' holds the flow {trainer.Flow.Config}, but these features and options make {config}; delete it to train anew.");
        }
        if (trainer.CompletedEpochs >= options.Epochs)
        {
            throw new ArgumentException($"{nameof(UFlowTrainer)}: the checkpoint '{path}' already holds {trainer.CompletedEpochs} epochs, and Epochs is {options.Epochs}: raise Epochs to train further, or delete it to train anew.");
        }
        return trainer;
    }

    private static void CheckSameShapes(Tensor[] maps, Tensor[]? first, int row)
    {
        if (first is null) return;
        for (int l = 0; l < first.Length; l++)
        {
            if (!first[l].SameShape(maps[l].Shape))
            {
                throw new ArgumentException($"{nameof(UFlowTrainer)}: row {row} has feature map {l} of shape {maps[l]}, but row 0 has {first[l]}; all training images must give maps of one size (resize them to one input size).");
            }
        }
    }
}
