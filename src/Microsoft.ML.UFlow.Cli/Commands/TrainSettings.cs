using System.Globalization;

namespace Microsoft.ML.UFlow.Cli.Commands;

/// <summary>
/// The settings of one 'uflow train' run after the per-model defaults are applied. Options that belong to the other
/// model are rejected with a message saying so, never silently ignored.
/// </summary>
/// <param name="InputSize">The given --input-size, or null: the aspect-preserving default (<see cref="Cli.InputSize.FromAspect"/>)
/// at about <see cref="DefaultSide"/>² pixels, chosen from the training images.</param>
internal sealed record TrainSettings(ModelKind Kind, string Backbone, string? Layers, string? Layer, int Hidden, InputSize? InputSize, int Epochs, int Batch, double LearningRate, int Seed, int? MicroBatch = null, string? Checkpoint = null)
{
    /// <summary>U-Flow: the share of the normal training images held out (<see cref="UFlowTrainer.Options.HeldOutFraction"/>).</summary>
    public double HeldOut { get; init; } = UFlowTrainer.Options.Defaults.HeldOutFraction;

    /// <summary>U-Flow: the NFA's latent calibration (<see cref="UFlowTrainer.Options.LatentCalibration"/>).</summary>
    public LatentCalibration Calibration { get; init; } = UFlowTrainer.Options.Defaults.LatentCalibration;

    /// <summary>U-Flow: early stopping on the held-out loss (<see cref="UFlowTrainer.Options.EarlyStoppingPatience"/>; 0 = off).</summary>
    public int Patience { get; init; } = UFlowTrainer.Options.Defaults.EarlyStoppingPatience;

    /// <summary>U-Flow with <c>--tile</c>: the tiles cut from every training image at full resolution (null: whole images resized to the input size).</summary>
    public ImageTiling? Tiling { get; init; }

    /// <summary>The overlap of <c>--tile</c> when <c>--overlap</c> is not given (pixels).</summary>
    public const int DefaultOverlap = 32;

    /// <summary>The <c>--calibration</c> values, in the order of <see cref="LatentCalibration"/>.</summary>
    public static readonly string[] CalibrationNames = ["none", "held-out"];

    /// <summary>The side of the default's square (256 for U-Flow, 384 for CS-Flow): the default has about its pixel count.</summary>
    public int DefaultSide => Kind == ModelKind.CsFlow ? DefaultPipeline.CsFlowInputSize : UFlowInputSize;

    /// <summary>The multiple every side must be (32 for U-Flow's deepest stride; 64 for CS-Flow, whose 1/4 copy must still be whole stride-16 cells).</summary>
    public int Stride => Kind == ModelKind.CsFlow ? DefaultPipeline.CsFlowStride : DefaultPipeline.UFlowStride;

    /// <summary>U-Flow's default input side (CS-Flow's is in <see cref="DefaultPipeline"/>).</summary>
    public const int UFlowInputSize = 256;

    /// <summary>
    /// U-Flow's defaults in the CLI, chosen for ResNet-50 v2 (<see cref="DefaultPipeline.UFlowBackbone"/>) within 30 minutes
    /// on two cores (docs/RESULTS.md, issue 22): anomalib's batch 32 at lr 1e-3, at most 6 epochs (8 took 33.7 min, 241 s each), stopped on the held-out
    /// normals' loss after 2 epochs without improvement, and the NFA calibrated on them.
    /// </summary>
    public const int UFlowBatch = 32, UFlowEpochs = 6, UFlowPatience = 2;

    /// <summary>U-Flow's default NFA calibration in the CLI when images are held out (<c>--held-out 0</c>: none, the paper's).</summary>
    public const LatentCalibration UFlowCalibration = LatentCalibration.HeldOutScale;

    /// <summary>Applies the defaults of <paramref name="model"/> ("uflow" or "csflow") to the options the user gave (null = not given).</summary>
    /// <exception cref="ArgumentException">An option of the other model was given, or a required one is missing.</exception>
    public static TrainSettings Resolve(string model, string? backbone, string? layers, string? layer, int? hidden, InputSize? inputSize, int? epochs, int? batch, double? lr, int seed, int? microBatch = null, string? checkpoint = null,
        double? heldOut = null, string? calibration = null, int? patience = null, int? tile = null, int? overlap = null)
    {
        ImageTiling? tiling = ResolveTiling(tile, overlap, inputSize);
        var csflow = new CsFlowTrainer.Options();
        switch (model)
        {
            case "csflow":
                if (layers is not null)
                {
                    throw new ArgumentException("--layers is a U-Flow option (several outputs of one pass); CS-Flow uses one backbone output at three input scales: pass --layer instead (default " + DefaultPipeline.CsFlowLayer + " for MobileNetV2, layer3 for ResNet-50 v2).");
                }
                if (microBatch is not null) throw new ArgumentException("--micro-batch is a U-Flow option (gradient accumulation in UFlowTrainer); CS-Flow trains whole batches.");
                if (tiling is not null) throw new ArgumentException("--tile is a U-Flow option (tiles are stitched with the NFA's number of tests over tiles); train CS-Flow on whole images.");
                if (heldOut is not null || calibration is not null || patience is not null)
                    throw new ArgumentException("--held-out, --calibration and --patience are U-Flow options (held-out normal images, NFA calibration, early stopping); CS-Flow trains on every image for its epochs.");
                return new TrainSettings(ModelKind.CsFlow, Path.GetFullPath(backbone ?? DefaultPipeline.CsFlowBackbone), null, layer,
                    Positive(hidden ?? csflow.HiddenChannels, "--hidden"), inputSize, Positive(epochs ?? csflow.Epochs, "--epochs"),
                    Positive(batch ?? csflow.BatchSize, "--batch"), PositiveRate(lr ?? csflow.LearningRate), seed, null, FullPathOrNull(checkpoint));
            case "uflow":
                if (layer is not null) throw new ArgumentException("--layer is a CS-Flow option (--model csflow); U-Flow takes several outputs with --layers.");
                if (hidden is not null) throw new ArgumentException("--hidden is a CS-Flow option (--model csflow); U-Flow's subnetwork width is a fixed ratio of its feature channels.");
                double held = heldOut ?? UFlowTrainer.Options.Defaults.HeldOutFraction;
                return new TrainSettings(ModelKind.UFlow, Path.GetFullPath(backbone ?? DefaultPipeline.UFlowBackbone), layers, null, 0, inputSize, Positive(epochs ?? UFlowEpochs, "--epochs"),
                    Positive(batch ?? UFlowBatch, "--batch"), PositiveRate(lr ?? UFlowTrainer.Options.Defaults.LearningRate), seed,
                    microBatch is int m ? Positive(m, "--micro-batch") : null, FullPathOrNull(checkpoint))
                {
                    // Without held-out images there is nothing to calibrate or stop on: the defaults become the paper's.
                    HeldOut = held,
                    Calibration = calibration is null ? (held > 0 ? UFlowCalibration : LatentCalibration.None) : ParseCalibration(calibration),
                    Patience = patience ?? (held > 0 ? UFlowPatience : 0),
                    Tiling = tiling,
                };
            default:
                throw new ArgumentException($"--model must be uflow or csflow, not '{model}'.");
        }
    }

    // --tile T [--overlap O]: one clear message each for an overlap without a tile, a tile beside --input-size (the tile is
    // the input size), a tile that is no multiple of the stride, and an overlap that is negative or not below the tile.
    private static ImageTiling? ResolveTiling(int? tile, int? overlap, InputSize? inputSize)
    {
        if (tile is not int t)
        {
            return overlap is null ? null : throw new ArgumentException("--overlap is the overlap of tiles: give --tile too (for example --tile 256 --overlap 32).");
        }
        if (inputSize is not null) throw new ArgumentException($"--tile sets the model's input size (the tile, {t}x{t}): leave out --input-size; tiles are cut from the images at their full resolution.");
        if (t < DefaultPipeline.UFlowStride || t % DefaultPipeline.UFlowStride != 0)
        {
            int below = Math.Max(DefaultPipeline.UFlowStride, t / DefaultPipeline.UFlowStride * DefaultPipeline.UFlowStride);
            throw new ArgumentOutOfRangeException("--tile", t, string.Create(CultureInfo.InvariantCulture,
                $"--tile {t} must be a positive multiple of {DefaultPipeline.UFlowStride} (the deepest stride of the backbone); for example {below} or {below + DefaultPipeline.UFlowStride}."));
        }
        int o = overlap ?? DefaultOverlap;
        if (o < 0 || o >= t)
        {
            throw new ArgumentOutOfRangeException("--overlap", o, string.Create(CultureInfo.InvariantCulture,
                $"--overlap {o} must be at least 0 and smaller than --tile {t} (neighbouring tiles would not advance)."));
        }
        return new ImageTiling(t, o);
    }

    private static LatentCalibration ParseCalibration(string name)
    {
        int index = Array.IndexOf(CalibrationNames, name);
        return index >= 0 ? (LatentCalibration)index : throw new ArgumentException($"--calibration must be {string.Join(" or ", CalibrationNames)}, not '{name}'.");
    }

    private static string? FullPathOrNull(string? path) => path is null ? null : Path.GetFullPath(path);

    private static int Positive(int value, string option)
        => value >= 1 ? value : throw new ArgumentOutOfRangeException(option, value, $"{option} must be at least 1 (got {value.ToString(CultureInfo.InvariantCulture)}).");

    private static double PositiveRate(double value)
        => value > 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException("--lr", value, "--lr must be a positive number.");
}
