using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.Transforms;

/// <summary>
/// Turns an RGB image into a float32 tensor [3, H, W] (planar, the layout featurizers take): each 8-bit value v becomes
/// (v / 255 − mean[c]) / std[c], with per-channel statistics (ImageNet's by default), as METHOD.md A.1 steps 3–4.
/// </summary>
public sealed class ExtractPixelsTransformer : RowToRowTransformer
{
    internal const string Name = "ExtractPixels";
    private static readonly ComponentVersion s_version = new("UFLOWPIX", 1, 1);
    private readonly float[] _mean, _std;

    /// <summary>Creates the transformer.</summary>
    /// <param name="outputColumnName">The tensor column to produce.</param>
    /// <param name="inputColumnName">The image column (3 channels).</param>
    /// <param name="mean">Per-channel means in [0,1] units (3 values).</param>
    /// <param name="std">Per-channel standard deviations (3 positive values).</param>
    public ExtractPixelsTransformer(string outputColumnName, string inputColumnName, IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count != 3 || std.Count != 3) throw new ArgumentException($"mean and std need 3 values (RGB); got {mean.Count} and {std.Count}.");
        if (std.Any(s => !(s > 0))) throw new ArgumentOutOfRangeException(nameof(std), "Standard deviations must be positive.");
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        _mean = mean.ToArray();
        _std = std.ToArray();
    }

    /// <summary>The produced tensor column.</summary>
    public string OutputColumnName { get; }

    /// <summary>The image column.</summary>
    public string InputColumnName { get; }

    /// <summary>Per-channel means.</summary>
    public IReadOnlyList<float> Mean => _mean;

    /// <summary>Per-channel standard deviations.</summary>
    public IReadOnlyList<float> Std => _std;

    /// <inheritdoc/>
    public override string ComponentName => Name;

    /// <inheritdoc/>
    protected override ComponentVersion Version => s_version;

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaColumn> GetAddedColumns(DataSchema inputSchema)
    {
        inputSchema.Require(InputColumnName, ImageColumnType.Instance, Name);
        return [new SchemaColumn(OutputColumnName, ColumnType.Tensor(3, -1, -1))];
    }

    /// <inheritdoc/>
    protected override void MapRow(DataRow input, object?[] outputs)
    {
        var image = input.Get<Image>(InputColumnName);
        if (image.Channels != 3) image = image.ToRgb();
        int h = image.Height, w = image.Width;
        var tensor = new Tensor(3, h, w);
        var dst = tensor.Span;
        byte[] px = image.Pixels;
        for (int c = 0; c < 3; c++)
        {
            // (v/255 - mean)/std computed as in torchvision: first to [0,1] in float32, then normalise.
            float mean = _mean[c], std = _std[c];
            var plane = dst.Slice(c * h * w, h * w);
            for (int i = 0; i < plane.Length; i++) plane[i] = (px[3 * i + c] / 255f - mean) / std;
        }
        outputs[0] = tensor;
    }

    /// <inheritdoc/>
    protected override void SaveCore(ModelSaveContext context)
        => context.WriteJson("settings.json", new Settings { Output = OutputColumnName, Input = InputColumnName, Mean = _mean, Std = _std });

    internal static ExtractPixelsTransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(Name, s_version);
        var s = context.ReadJson<Settings>("settings.json");
        return new ExtractPixelsTransformer(s.Output, s.Input, s.Mean, s.Std);
    }

    private sealed class Settings
    {
        public string Output { get; set; } = "";
        public string Input { get; set; } = "";
        public float[] Mean { get; set; } = [];
        public float[] Std { get; set; } = [];
    }
}
