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
        int total = (int)(input.GetRowCount() ?? -1);
        using var cache = new FeatureCache();
        Tensor[]? first = null;
        foreach (var row in input.GetRows())
        {
            var maps = row.Get<Tensor[]>(_options.FeatureColumnName);
            first ??= maps;
            cache.Add(maps.Select(m => m.Reshape(1, m.Shape[0], m.Shape[1], m.Shape[2])).ToArray());
            progress?.Report(new TrainingProgress("featurize", cache.Count, total));
        }
        if (first is null) throw new ArgumentException($"{nameof(CsFlowTrainer)}: the training data has no rows.", nameof(input));
        int n = cache.Count, batch = Math.Min(_options.BatchSize, n);
        int totalSteps = (n + batch - 1) / batch * _options.Epochs, step = 0;
        var trainer = new Flows.CsFlow.CsFlowTrainer(new CsFlowTrainerOptions
        {
            Epochs = _options.Epochs,
            BatchSize = batch,
            LearningRate = _options.LearningRate,
            ShuffleSeed = (ulong)(uint)_seed,
            Network = new CsFlowNetworkOptions { Channels = first[0].Shape[0], HiddenChannels = _options.HiddenChannels, Seed = (ulong)(uint)_seed },
        });
        // The flow trainer reads sample 0 once in Fit and once in Continue to probe the channel count before the first
        // step; those reads are not steps. Each step report carries the mean loss of the last finished epoch.
        int reads = 0;
        double? epochLoss = null;
        var source = new CachedFeatureSource(cache, () =>
        {
            if (++reads > ProbeReads) progress?.Report(new TrainingProgress("train", ++step, totalSteps, epochLoss));
        });
        var model = trainer.Fit(source, new EpochLossSink(report =>
        {
            epochLoss = report.MeanLoss;
            progress?.Report(new TrainingProgress("train", step, totalSteps, epochLoss));
        }));
        var scorer = new CsFlowScoreTransformer(model, _options.FeatureColumnName, _options.OutputSize, float.PositiveInfinity);
        float max = float.NegativeInfinity;
        var one = first.Select(_ => new Tensor(1)).ToArray();
        for (int i = 0; i < n; i++)
        {
            cache.ReadBatch([i], one);
            max = MathF.Max(max, scorer.Score(one).Score);
        }
        return scorer.WithThreshold(max);
    }

    /// <summary>Reads of sample 0 that <see cref="Flows.CsFlow.CsFlowTrainer.Fit"/> makes before its first step.</summary>
    private const int ProbeReads = 2;

    /// <summary>Receives the epoch reports synchronously, on the training thread (<see cref="Progress{T}"/> would post them).</summary>
    private sealed class EpochLossSink(Action<CsFlowEpochReport> onEpoch) : IProgress<CsFlowEpochReport>
    {
        public void Report(CsFlowEpochReport value) => onEpoch(value);
    }
}
