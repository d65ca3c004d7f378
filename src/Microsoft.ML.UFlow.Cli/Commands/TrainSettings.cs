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
    /// <summary>The side of the default's square (256 for U-Flow, 384 for CS-Flow): the default has about its pixel count.</summary>
    public int DefaultSide => Kind == ModelKind.CsFlow ? DefaultPipeline.CsFlowInputSize : UFlowInputSize;

    /// <summary>The multiple every side must be (32 for U-Flow's deepest stride; 64 for CS-Flow, whose 1/4 copy must still be whole stride-16 cells).</summary>
    public int Stride => Kind == ModelKind.CsFlow ? DefaultPipeline.CsFlowStride : DefaultPipeline.UFlowStride;

    /// <summary>U-Flow's default input side and batch size (CS-Flow's are in <see cref="DefaultPipeline"/> and <see cref="CsFlowTrainer.Options"/>).</summary>
    public const int UFlowInputSize = 256, UFlowBatch = UFlowTrainer.Options.Defaults.BatchSize;

    /// <summary>Applies the defaults of <paramref name="model"/> ("uflow" or "csflow") to the options the user gave (null = not given).</summary>
    /// <exception cref="ArgumentException">An option of the other model was given, or a required one is missing.</exception>
    public static TrainSettings Resolve(string model, string? backbone, string? layers, string? layer, int? hidden, InputSize? inputSize, int? epochs, int? batch, double? lr, int seed, int? microBatch = null, string? checkpoint = null)
    {
        var csflow = new CsFlowTrainer.Options();
        switch (model)
        {
            case "csflow":
                if (layers is not null)
                {
                    throw new ArgumentException("--layers is a U-Flow option (several outputs of one pass); CS-Flow uses one backbone output at three input scales: pass --layer instead (default " + DefaultPipeline.CsFlowLayer + " for MobileNetV2, layer3 for ResNet-50 v2).");
                }
                if (microBatch is not null) throw new ArgumentException("--micro-batch is a U-Flow option (gradient accumulation in UFlowTrainer); CS-Flow trains whole batches.");
                return new TrainSettings(ModelKind.CsFlow, Path.GetFullPath(backbone ?? DefaultPipeline.CsFlowBackbone), null, layer,
                    Positive(hidden ?? csflow.HiddenChannels, "--hidden"), inputSize, Positive(epochs ?? csflow.Epochs, "--epochs"),
                    Positive(batch ?? csflow.BatchSize, "--batch"), PositiveRate(lr ?? csflow.LearningRate), seed, null, FullPathOrNull(checkpoint));
            case "uflow":
                if (layer is not null) throw new ArgumentException("--layer is a CS-Flow option (--model csflow); U-Flow takes several outputs with --layers.");
                if (hidden is not null) throw new ArgumentException("--hidden is a CS-Flow option (--model csflow); U-Flow's subnetwork width is a fixed ratio of its feature channels.");
                if (backbone is null) throw new ArgumentException("--backbone is required for --model uflow (for example ../shared/models/mobilenetv2_1.0_imagenet_features.onnx).");
                return new TrainSettings(ModelKind.UFlow, Path.GetFullPath(backbone), layers, null, 0, inputSize, Positive(epochs ?? UFlowTrainer.Options.Defaults.Epochs, "--epochs"),
                    Positive(batch ?? UFlowBatch, "--batch"), PositiveRate(lr ?? UFlowTrainer.Options.Defaults.LearningRate), seed,
                    microBatch is int m ? Positive(m, "--micro-batch") : null, FullPathOrNull(checkpoint));
            default:
                throw new ArgumentException($"--model must be uflow or csflow, not '{model}'.");
        }
    }

    private static string? FullPathOrNull(string? path) => path is null ? null : Path.GetFullPath(path);

    private static int Positive(int value, string option)
        => value >= 1 ? value : throw new ArgumentOutOfRangeException(option, value, $"{option} must be at least 1 (got {value.ToString(CultureInfo.InvariantCulture)}).");

    private static double PositiveRate(double value)
        => value > 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException("--lr", value, "--lr must be a positive number.");
}
