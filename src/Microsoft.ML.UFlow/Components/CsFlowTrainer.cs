using System.Diagnostics;
using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Training;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Trains CS-Flow (Rudolph et al., METHOD.md Part C) on one backbone output at three input scales and returns the fitted
/// scorer: the flow with its image score and localisation map (C.4) exported to ONNX, run by a stock <c>OnnxTransformer</c>.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Estimator Characteristics</term><description></description></listheader>
/// <item><term>Does this estimator need to look at the data to train its parameters?</term><description>Yes (normal images only)</description></item>
/// <item><term>Input column data type</term><description><c>Features</c> and <c>Features.Shapes</c> from
/// <c>ApplyOnnxFeaturizerForCsFlow</c> (three maps of one channel count, each half the size of the previous)</description></item>
/// <item><term>Output column data type</term><description><c>Score</c> (Single), <c>PredictedLabel</c> (Boolean), <c>AnomalyMap</c> (vector of Single, S×S, or the input's aspect with the shorter side S)</description></item>
/// <item><term>Required NuGet in addition to Microsoft.ML</term><description>Microsoft.ML.UFlow; for training a TorchSharp
/// backend (TorchSharp-cpu, TorchSharp-cuda-linux or -windows); for scoring only Microsoft.ML.OnnxRuntime or .Gpu</description></item>
/// <item><term>Exportable to ONNX</term><description>It is ONNX: the saved model holds the flow's graph</description></item>
/// </list>
/// The features are read once and cached (in memory up to <see cref="Options.FeatureCacheBudgetBytes"/>, then in a
/// temporary file), then copied into one float32 tensor per scale in memory (CPU) for TorchSharp, which trains the flow
/// on <see cref="Options.Device"/> with Adam (L2 weight decay), gradient-norm clipping and shuffled mini-batches.
/// CS-Flow gives no latents for the NFA segmentation.
/// </remarks>
public sealed class CsFlowTrainer : IEstimator<CsFlowScoreTransformer>
{
    /// <summary>Options of <see cref="CsFlowTrainer"/>; the defaults are CS-Flow's own (METHOD.md C.3).</summary>
    public sealed class Options
    {
        /// <summary>Default values, each with its source.</summary>
        public static class Defaults
        {
            /// <summary>60 epochs (C.3, MTD schedule; 240 for MVTec AD in the paper).</summary>
            public const int Epochs = 60;

            /// <summary>Batch size 16 (C.3).</summary>
            public const int BatchSize = 16;

            /// <summary>Adam learning rate 2e-4 (C.3).</summary>
            public const double LearningRate = 2e-4;

            /// <summary>Hidden width 1024 of the cross-scale subnetworks (C.2).</summary>
            public const int HiddenChannels = 1024;

            /// <summary>Side of the localisation map: 256, the evaluation size.</summary>
            public const int OutputSize = 256;

            /// <summary>Training device: the CPU.</summary>
            public const string Device = "cpu";
        }

        /// <summary>The features column (default <c>Features</c>).</summary>
        public string FeatureColumnName { get; set; } = AnomalyColumns.Features;

        /// <summary>Training epochs (default <see cref="Defaults.Epochs"/>).</summary>
        public int Epochs { get; set; } = Defaults.Epochs;

        /// <summary>Mini-batch size (default <see cref="Defaults.BatchSize"/>).</summary>
        public int BatchSize { get; set; } = Defaults.BatchSize;

        /// <summary>Adam learning rate (default <see cref="Defaults.LearningRate"/>).</summary>
        public double LearningRate { get; set; } = Defaults.LearningRate;

        /// <summary>Hidden width of the subnetworks (default <see cref="Defaults.HiddenChannels"/>).</summary>
        public int HiddenChannels { get; set; } = Defaults.HiddenChannels;

        /// <summary>Seed of initialisation, permutations and shuffling (default 0).</summary>
        public int Seed { get; set; }

        /// <summary>Side S of the localisation map (default <see cref="Defaults.OutputSize"/>).</summary>
        public int OutputSize { get; set; } = Defaults.OutputSize;

        /// <summary>
        /// The training device: "cpu", "cuda" or "cuda:N" (default <see cref="Defaults.Device"/>). A CUDA device needs the
        /// TorchSharp-cuda-linux or TorchSharp-cuda-windows backend in the application; the features stay on the CPU and
        /// each batch is moved to the device.
        /// </summary>
        public string Device { get; set; } = Defaults.Device;

        /// <summary>Bytes of cached features kept in memory before the rest spills to a temporary file (default 4 GiB).</summary>
        public long FeatureCacheBudgetBytes { get; set; } = 4L << 30;

        /// <summary>A file for the training state, saved after every epoch and continued from when it exists (default none).</summary>
        public string? CheckpointPath { get; set; }

        /// <summary>Receives featurisation and training progress (not saved with the model).</summary>
        public IProgress<TrainingProgress>? Progress { get; set; }

        internal Options Clone() => (Options)MemberwiseClone();

        internal void Validate()
        {
            if (string.IsNullOrEmpty(FeatureColumnName)) throw new ArgumentException("FeatureColumnName is empty.");
            if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "At least one epoch is needed.");
            if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "The batch size must be positive.");
            if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be positive.");
            if (HiddenChannels < 1) throw new ArgumentOutOfRangeException(nameof(HiddenChannels), HiddenChannels, "The hidden width must be positive.");
            if (OutputSize < 1) throw new ArgumentOutOfRangeException(nameof(OutputSize), OutputSize, "The output size must be positive.");
            if (FeatureCacheBudgetBytes < 0) throw new ArgumentOutOfRangeException(nameof(FeatureCacheBudgetBytes), FeatureCacheBudgetBytes, "The cache budget must not be negative.");
            ArgumentException.ThrowIfNullOrWhiteSpace(Device, nameof(Device));
        }
    }

    private readonly TransformsCatalog _transforms;
    private readonly Options _options;

    internal CsFlowTrainer(TransformsCatalog transforms, Options? options)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        _transforms = transforms;
        _options = options?.Clone() ?? new Options();
        _options.Validate();
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        foreach (string name in new[] { _options.FeatureColumnName, _options.FeatureColumnName + AnomalyColumns.ShapesSuffix })
        {
            var column = SchemaShapes.Find(inputSchema, name) ?? throw SchemaErrors.Missing(name, "the features of ApplyOnnxFeaturizerForCsFlow");
            if (column.Kind == SchemaShape.Column.VectorKind.Scalar || column.ItemType != NumberDataViewType.Single)
                throw SchemaErrors.Mismatch(name, "a vector of Single", column.ItemType?.ToString() ?? "?");
        }
        var columns = inputSchema.ToDictionary(c => c.Name);
        foreach (string name in new[] { ScorerGraph.AnomalyMap, ScorerGraph.RawScore, ScorerGraph.Threshold }) columns[name] = SchemaShapes.FloatVector(name);
        columns[AnomalyColumns.Score] = SchemaShapes.Float(AnomalyColumns.Score);
        columns[AnomalyColumns.PredictedLabel] = SchemaShapes.Boolean(AnomalyColumns.PredictedLabel);
        return new SchemaShape(columns.Values);
    }

    /// <summary>Reads the features, trains CS-Flow, exports it and returns the scorer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The features columns are missing or of the wrong type.</exception>
    /// <exception cref="ArgumentException">No rows, not three halving maps of one channel count, maps of different sizes,
    /// or a checkpoint of other settings, one that already holds <see cref="Options.Epochs"/>, or an unknown device name.</exception>
    /// <exception cref="InvalidDataException">The checkpoint file is not a readable CS-Flow training checkpoint (the message names it).</exception>
    /// <exception cref="InvalidOperationException">libtorch cannot be loaded or the device is not available (the message names the package to reference).</exception>
    /// <exception cref="CsFlowDivergenceException">Features, loss or gradients were not finite (the message names epoch and step).</exception>
    public CsFlowScoreTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        // Before the features are computed: a missing backend or device fails at once.
        TorchRuntime.Resolve(_options.Device);
        var progress = _options.Progress;
        var clock = Stopwatch.StartNew();
        var (cache, scales) = TrainingFeatureReader.Read(input, _options.FeatureColumnName, _options.FeatureCacheBudgetBytes, nameof(CsFlowTrainer), progress);
        using (cache)
        {
            CheckScales(scales);
            double featurizeSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var trained = CsFlowTraining.Train(cache, scales[0].Channels, _options, progress);
            var summary = trained.Summary with { FeaturizeSeconds = featurizeSeconds, TrainSeconds = clock.Elapsed.TotalSeconds };
            byte[] Export(float? threshold) => ScorerGraph.Build(CsFlowOnnxExporter.Export(trained.Network, scales[0].Height, scales[0].Width, trained.State,
                new FlowOnnxExportOptions { MapSize = _options.OutputSize, InputName = _options.FeatureColumnName, Threshold = threshold, InputSize = TrainingImageSize.Of(input.Schema) }), null, threshold ?? float.PositiveInfinity);
            float threshold = TrainingThreshold.FromTrainingScores(Export(null), _options.FeatureColumnName, cache, nameof(CsFlowTrainer), progress);
            byte[] graph = Export(threshold);
            var estimator = _transforms.ApplyOnnxModel([ScorerGraph.AnomalyMap, ScorerGraph.RawScore, ScorerGraph.Threshold],
                    [_options.FeatureColumnName], new MemoryStream(graph))
                .Append(_transforms.CustomMapping(new ScoreMapping().GetMapping(), ScoreMapping.ContractName));
            return new CsFlowScoreTransformer(estimator.Fit(input), trained.Network, threshold, _options.OutputSize,
                Scoring.MapGrid.For(_options.OutputSize, scales[0].Height, scales[0].Width), summary, graph);
        }
    }

    private static void CheckScales((int Channels, int Height, int Width)[] scales)
    {
        if (scales.Length != 3 || scales.Any(s => s.Channels != scales[0].Channels)
            || scales[1].Height * 2 != scales[0].Height || scales[2].Height * 2 != scales[1].Height
            || scales[1].Width * 2 != scales[0].Width || scales[2].Width * 2 != scales[1].Width)
        {
            throw new ArgumentException($"{nameof(CsFlowTrainer)}: CS-Flow needs three maps of one channel count, each half the size of the " +
                $"previous (ApplyOnnxFeaturizerForCsFlow); got {string.Join(" ", scales.Select(s => $"[{s.Channels}, {s.Height}, {s.Width}]"))}.");
        }
    }
}

/// <summary>
/// The fitted CS-Flow: a stock <c>OnnxTransformer</c> over the exported flow (its localisation map <c>AnomalyMap</c> and
/// image score) and the stateless score mapping (<c>Score</c>, <c>PredictedLabel</c>); saved as those.
/// </summary>
public sealed class CsFlowScoreTransformer : FlowScoreTransformer
{
    internal CsFlowScoreTransformer(ITransformer inner, CsFlowNetworkOptions network, float threshold, int outputSize, (int Height, int Width) map, UFlowTrainingSummary summary, byte[] graph)
        : base(inner, threshold, outputSize, map, summary, graph)
        => Network = network;

    /// <summary>The network's settings (channels, hidden width, kernels, seed).</summary>
    public CsFlowNetworkOptions Network { get; }
}
