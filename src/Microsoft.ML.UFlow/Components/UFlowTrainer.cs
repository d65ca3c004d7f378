using System.Diagnostics;
using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Training;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Trains U-Flow (METHOD.md A.3–A.5) on the multi-scale features of normal images and returns the fitted scorer: the
/// flow, its anomaly map (A.6) and image score exported to one ONNX graph, run by a stock <c>OnnxTransformer</c>.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Estimator Characteristics</term><description></description></listheader>
/// <item><term>Does this estimator need to look at the data to train its parameters?</term><description>Yes (normal
/// images only; their labels are not read)</description></item>
/// <item><term>Input column data type</term><description><c>Features</c> and <c>Features.Shapes</c> (vectors of Single,
/// from <c>ApplyOnnxFeaturizer</c> or <c>CaiTFeaturizer</c>)</description></item>
/// <item><term>Output column data type</term><description><c>Score</c> (Single), <c>PredictedLabel</c> (Boolean),
/// <c>AnomalyMap</c> (vector of Single, S×S, or the input's aspect with the shorter side S), <c>Latents</c> and <c>Latents.Shapes</c> (for <c>SegmentWithNfa</c>)</description></item>
/// <item><term>Required NuGet in addition to Microsoft.ML</term><description>Microsoft.ML.UFlow; for training a TorchSharp
/// backend (TorchSharp-cpu, TorchSharp-cuda-linux or -windows); for scoring only Microsoft.ML.OnnxRuntime or .Gpu</description></item>
/// <item><term>Exportable to ONNX</term><description>It is ONNX: the saved model holds the flow's graph</description></item>
/// </list>
/// The features are read once and cached (in memory up to <see cref="Options.FeatureCacheBudgetBytes"/>, then in a
/// temporary file); the flow trains on the cache on TorchSharp (<see cref="Options.Device"/>) with Adam (L2 weight decay),
/// the LinearLR schedule per epoch and shuffled mini-batches.
/// </remarks>
public sealed class UFlowTrainer : IEstimator<AnomalyScoreTransformer>
{
    /// <summary>Options of <see cref="UFlowTrainer"/>; the defaults are those for CNN backbones on two CPU cores.</summary>
    public sealed class Options
    {
        /// <summary>Default values, each with its source.</summary>
        public static class Defaults
        {
            /// <summary>
            /// 30 epochs with <see cref="LearningRate"/>: measured on MVTec AD bottle with MobileNetV2 features at 256 on 2 CPU
            /// cores, pixel AUROC 0.950 (docs/RESULTS.md). The official configuration (lr 1e-4, 200 epochs) is a GPU budget.
            /// </summary>
            public const int Epochs = 30;

            /// <summary>Adam learning rate 1e-3 (anomalib's U-Flow default).</summary>
            public const double LearningRate = 1e-3;

            /// <summary>Mini-batch size 8 (the official MVTec default configuration).</summary>
            public const int BatchSize = 8;

            /// <summary>L2 weight decay 1e-5 (METHOD.md A.5).</summary>
            public const double WeightDecay = 1e-5;

            /// <summary>Flow steps per scale: 4 (METHOD.md A.3.1).</summary>
            public const int FlowSteps = 4;

            /// <summary>Side of the anomaly map: 256, the paper's evaluation size (METHOD.md A.6).</summary>
            public const int OutputSize = 256;

            /// <summary>Training device: the CPU.</summary>
            public const string Device = "cpu";

            /// <summary>
            /// 10 % of the normal training images are held out (at least 4): enough to measure the latents' calibration
            /// (METHOD.md A.7.8) and the held-out likelihood, at little cost to training.
            /// </summary>
            public const double HeldOutFraction = 0.1;

            /// <summary>No early stopping: every one of <see cref="Epochs"/> is trained.</summary>
            public const int EarlyStoppingPatience = 0;

            /// <summary>No latent calibration: the NFA reads the flow's latents as the paper does.</summary>
            public const global::Microsoft.ML.UFlow.LatentCalibration LatentCalibration = global::Microsoft.ML.UFlow.LatentCalibration.None;
        }

        /// <summary>The features column (default <c>Features</c>; its shapes column is <c>Features.Shapes</c>).</summary>
        public string FeatureColumnName { get; set; } = AnomalyColumns.Features;

        /// <summary>Training epochs (default <see cref="Defaults.Epochs"/>).</summary>
        public int Epochs { get; set; } = Defaults.Epochs;

        /// <summary>Mini-batch size (default <see cref="Defaults.BatchSize"/>).</summary>
        public int BatchSize { get; set; } = Defaults.BatchSize;

        /// <summary>
        /// Samples per forward/backward pass (default null: the whole batch). Smaller values train the same updates as
        /// <see cref="BatchSize"/> (gradients accumulated, up to float rounding) in less memory.
        /// </summary>
        public int? MicroBatchSize { get; set; }

        /// <summary>Adam learning rate (default <see cref="Defaults.LearningRate"/>).</summary>
        public double LearningRate { get; set; } = Defaults.LearningRate;

        /// <summary>L2 weight decay (default <see cref="Defaults.WeightDecay"/>).</summary>
        public double WeightDecay { get; set; } = Defaults.WeightDecay;

        /// <summary>Seed of initialisation, permutations and shuffling (default 0).</summary>
        public int Seed { get; set; }

        /// <summary>Flow steps per scale (default <see cref="Defaults.FlowSteps"/>).</summary>
        public int FlowSteps { get; set; } = Defaults.FlowSteps;

        /// <summary>LayerNorm of the features before the flow, trained with it (default true, as for CNN backbones).</summary>
        public bool FeatureLayerNorm { get; set; } = true;

        /// <summary>Hidden channels of the coupling subnets relative to their input (default 1).</summary>
        public double SubnetChannelsRatio { get; set; } = 1.0;

        /// <summary>Soft clamp of the affine coupling scales (default 2).</summary>
        public float AffineClamp { get; set; } = 2.0f;

        /// <summary>Side S of the anomaly map (default <see cref="Defaults.OutputSize"/>); its shorter side for a rectangular input (<see cref="Scoring.MapGrid"/>).</summary>
        public int OutputSize { get; set; } = Defaults.OutputSize;

        /// <summary>
        /// The training device: "cpu", "cuda" or "cuda:N" (default <see cref="Defaults.Device"/>). A CUDA device needs the
        /// TorchSharp-cuda-linux or TorchSharp-cuda-windows backend in the application; the cached features are moved to
        /// it a batch at a time.
        /// </summary>
        public string Device { get; set; } = Defaults.Device;

        /// <summary>Bytes of cached features kept in memory before the rest spills to a temporary file (default 4 GiB).</summary>
        public long FeatureCacheBudgetBytes { get; set; } = 4L << 30;

        /// <summary>
        /// A file for the training state, saved atomically after every epoch (default null: none). If it exists when
        /// <see cref="Fit"/> starts, training continues from it exactly where it stopped, provided the options and training
        /// images are those it was made with (anything else is refused); delete it to start anew.
        /// </summary>
        public string? CheckpointPath { get; set; }

        /// <summary>
        /// The share of the normal training images held out from training, in [0, 1) (default
        /// <see cref="Defaults.HeldOutFraction"/>; 0 trains on all of them, the paper's way). They are chosen from
        /// <see cref="Seed"/> (⌈fraction·N⌉, at least 4, with at least 4 left to train on), featurised like the others and
        /// never trained on: after every epoch the flow is evaluated on them (<see cref="HeldOutEvaluation"/>, reported
        /// through <see cref="Progress"/> and <see cref="UFlowTrainingSummary.HeldOut"/>), for
        /// <see cref="EarlyStoppingPatience"/> and <see cref="LatentCalibration"/>. The image-score threshold still comes from all images.
        /// </summary>
        public double HeldOutFraction { get; set; } = Defaults.HeldOutFraction;

        /// <summary>
        /// Stops training once the held-out images' loss has not improved for this many epochs, and exports the weights of
        /// the epoch where it was lowest (default <see cref="Defaults.EarlyStoppingPatience"/>: off, the last epoch's
        /// weights are exported). <see cref="Epochs"/> stays the maximum. Needs <see cref="HeldOutFraction"/> &gt; 0.
        /// </summary>
        public int EarlyStoppingPatience { get; set; } = Defaults.EarlyStoppingPatience;

        /// <summary>
        /// The calibration of the latents the NFA segmentation reads (default <see cref="Defaults.LatentCalibration"/>).
        /// <see cref="LatentCalibration.HeldOutScale"/> divides each scale's NFA statistic by the exported flow's
        /// held-out mean z² (saved in the model); the anomaly map and the score do not change. Needs
        /// <see cref="HeldOutFraction"/> &gt; 0.
        /// </summary>
        public LatentCalibration LatentCalibration { get; set; } = Defaults.LatentCalibration;

        /// <summary>
        /// The tiles the training rows are (default null: whole images). Only recorded in the model
        /// (<see cref="Onnx.FlowModelFacts.Tiling"/>), so that <see cref="TiledAnomalyScorer"/> and <c>uflow eval</c> / <c>predict</c>
        /// cut scored images the same way; the rows themselves come from <see cref="ImageTileData.Load"/>.
        /// </summary>
        public ImageTiling? Tiling { get; set; }

        /// <summary>Receives featurisation and training progress (not saved with the model).</summary>
        public IProgress<TrainingProgress>? Progress { get; set; }

        internal Options Clone() => (Options)MemberwiseClone();

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
            ArgumentException.ThrowIfNullOrWhiteSpace(Device, nameof(Device));
            if (!(HeldOutFraction >= 0 && HeldOutFraction < 1)) throw new ArgumentOutOfRangeException(nameof(HeldOutFraction), HeldOutFraction, "The held-out fraction must be in [0, 1).");
            if (EarlyStoppingPatience < 0) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "The patience must be ≥ 0 (0: no early stopping).");
            if (!Enum.IsDefined(LatentCalibration)) throw new ArgumentOutOfRangeException(nameof(LatentCalibration), LatentCalibration, "Unknown latent calibration.");
            if (HeldOutFraction == 0 && EarlyStoppingPatience > 0)
                throw new ArgumentException($"Early stopping (EarlyStoppingPatience {EarlyStoppingPatience}) watches the held-out images' loss: set HeldOutFraction > 0.", nameof(EarlyStoppingPatience));
            if (HeldOutFraction == 0 && LatentCalibration != LatentCalibration.None)
                throw new ArgumentException($"LatentCalibration {LatentCalibration} is measured on held-out images: set HeldOutFraction > 0.", nameof(LatentCalibration));
        }
    }

    private readonly TransformsCatalog _transforms;
    private readonly Options _options;

    internal UFlowTrainer(TransformsCatalog transforms, Options? options)
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
            var column = SchemaShapes.Find(inputSchema, name) ?? throw SchemaErrors.Missing(name, "the features of ApplyOnnxFeaturizer");
            if (column.Kind == SchemaShape.Column.VectorKind.Scalar || column.ItemType != NumberDataViewType.Single)
                throw SchemaErrors.Mismatch(name, "a vector of Single", column.ItemType?.ToString() ?? "?");
        }
        return UFlowScorerFactory.OutputSchema(inputSchema);
    }

    /// <summary>Reads the features, trains the flow, exports it and returns the scorer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The features columns are missing or of the wrong type.</exception>
    /// <exception cref="ArgumentException">No rows, too few rows to hold out <see cref="Options.HeldOutFraction"/>, maps of
    /// different sizes, a checkpoint of other settings, data or held-out images or one that already holds
    /// <see cref="Options.Epochs"/>, or an unknown device name.</exception>
    /// <exception cref="InvalidDataException">A training feature is NaN or infinite (the message names epoch, step, scale and
    /// sample), or the checkpoint file is not a readable U-Flow training checkpoint (the message names it).</exception>
    /// <exception cref="InvalidOperationException">libtorch cannot be loaded or the device is not available (the message names the package to reference).</exception>
    /// <exception cref="FlowTrainingDivergedException">The loss or a weight became NaN or infinite (the message names epoch and step).</exception>
    public AnomalyScoreTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        // Before the features are computed: a missing backend or device fails at once.
        TorchRuntime.Resolve(_options.Device);
        var progress = _options.Progress;
        var clock = Stopwatch.StartNew();
        var (cache, scales) = TrainingFeatureReader.Read(input, _options.FeatureColumnName, _options.FeatureCacheBudgetBytes, nameof(UFlowTrainer), progress,
            first => CheckUShape(first, input.Schema));
        using (cache)
        {
            double featurizeSeconds = clock.Elapsed.TotalSeconds;
            var config = new UFlowConfig(scales.Select(s => new FlowScale(s.Channels, s.Height, s.Width)))
            {
                FlowSteps = _options.FlowSteps,
                SubnetChannelsRatio = _options.SubnetChannelsRatio,
                AffineClamp = _options.AffineClamp,
                FeatureLayerNorm = _options.FeatureLayerNorm,
                Seed = (ulong)(uint)_options.Seed,
            };
            clock.Restart();
            var trained = UFlowTraining.Train(config, cache, _options, progress);
            var summary = trained.Summary with { FeaturizeSeconds = featurizeSeconds, TrainSeconds = clock.Elapsed.TotalSeconds };
            return UFlowScorerFactory.Create(_transforms, config, trained.State, _options, summary, cache, input, progress);
        }
    }

    // Maps that are not each 2^k times the next (an input side that is no multiple of the backbone's largest stride)
    // cannot form the U: refused at the first image, naming the input size, not after all images are featurised.
    private static void CheckUShape((int Channels, int Height, int Width)[] scales, DataViewSchema schema)
    {
        try
        {
            new UFlowConfig(scales.Select(s => new FlowScale(s.Channels, s.Height, s.Width))).Plan();
        }
        catch (ArgumentException e)
        {
            string input = TrainingImageSize.Of(schema) is { } size ? $"{size.Width}x{size.Height}" : "the input";
            throw new ArgumentException($"{nameof(UFlowTrainer)}: the feature maps of {input} images cannot form U-Flow's U ({e.Message}) " +
                "Resize the images to a width and height that are multiples of the backbone's largest stride (32 for MobileNetV2 and ResNet-50 v2 layers 1-3).", e);
        }
    }
}
