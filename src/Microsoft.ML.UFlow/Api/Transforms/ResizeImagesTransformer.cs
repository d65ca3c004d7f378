using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;
using Microsoft.ML.UFlow.Imaging;

namespace Microsoft.ML.UFlow.Api.Transforms;

/// <summary>
/// Resizes images to exactly width × height with PIL's antialiased bilinear filter (bit-exact with Pillow, METHOD.md A.1).
/// On square inputs such as MVTec AD this is torchvision's <c>Resize(size)</c>; other aspect ratios are stretched, so that
/// every image gives feature maps of one size.
/// </summary>
public sealed class ResizeImagesTransformer : RowToRowTransformer
{
    internal const string Name = "ResizeImages";
    private static readonly ComponentVersion s_version = new("UFLOWRSZ", 1, 1);

    /// <summary>Creates the transformer.</summary>
    public ResizeImagesTransformer(string outputColumnName, int imageWidth, int imageHeight, string inputColumnName)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageHeight);
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        ImageWidth = imageWidth;
        ImageHeight = imageHeight;
    }

    /// <summary>The produced image column.</summary>
    public string OutputColumnName { get; }

    /// <summary>The image column read.</summary>
    public string InputColumnName { get; }

    /// <summary>Output width.</summary>
    public int ImageWidth { get; }

    /// <summary>Output height.</summary>
    public int ImageHeight { get; }

    /// <inheritdoc/>
    public override string ComponentName => Name;

    /// <inheritdoc/>
    protected override ComponentVersion Version => s_version;

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaColumn> GetAddedColumns(DataSchema inputSchema)
    {
        inputSchema.Require(InputColumnName, ImageColumnType.Instance, Name);
        return [new SchemaColumn(OutputColumnName, ImageColumnType.Instance)];
    }

    /// <inheritdoc/>
    protected override void MapRow(DataRow input, object?[] outputs)
        => outputs[0] = ImageResize.Bilinear(input.Get<Image>(InputColumnName), ImageWidth, ImageHeight);

    /// <inheritdoc/>
    protected override void SaveCore(ModelSaveContext context)
        => context.WriteJson("settings.json", new Settings { Output = OutputColumnName, Input = InputColumnName, Width = ImageWidth, Height = ImageHeight });

    internal static ResizeImagesTransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(Name, s_version);
        var s = context.ReadJson<Settings>("settings.json");
        return new ResizeImagesTransformer(s.Output, s.Width, s.Height, s.Input);
    }

    private sealed class Settings
    {
        public string Output { get; set; } = "";
        public string Input { get; set; } = "";
        public int Width { get; set; }
        public int Height { get; set; }
    }
}
