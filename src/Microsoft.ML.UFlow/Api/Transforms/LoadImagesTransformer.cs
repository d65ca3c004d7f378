using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;
using Microsoft.ML.UFlow.Imaging;

namespace Microsoft.ML.UFlow.Api.Transforms;

/// <summary>
/// Decodes image files (PNG, JPEG, BMP) named by a text column into an <see cref="ImageColumnType"/> column, converted
/// to RGB as the U-Flow pre-processing does (grey images get three identical channels, alpha is dropped).
/// </summary>
public sealed class LoadImagesTransformer : RowToRowTransformer
{
    internal const string Name = "LoadImages";
    private static readonly ComponentVersion s_version = new("UFLOWLIM", 1, 1);

    /// <summary>Creates the transformer.</summary>
    /// <param name="outputColumnName">The image column to produce.</param>
    /// <param name="inputColumnName">The text column holding file paths.</param>
    /// <param name="imageFolder">A folder that relative paths are resolved against; null for the current directory.</param>
    public LoadImagesTransformer(string outputColumnName, string inputColumnName, string? imageFolder = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        ImageFolder = imageFolder;
    }

    /// <summary>The produced image column.</summary>
    public string OutputColumnName { get; }

    /// <summary>The path column.</summary>
    public string InputColumnName { get; }

    /// <summary>The folder relative paths are resolved against, or null.</summary>
    public string? ImageFolder { get; }

    /// <inheritdoc/>
    public override string ComponentName => Name;

    /// <inheritdoc/>
    protected override ComponentVersion Version => s_version;

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaColumn> GetAddedColumns(DataSchema inputSchema)
    {
        inputSchema.Require(InputColumnName, ColumnType.Text, Name);
        return [new SchemaColumn(OutputColumnName, ImageColumnType.Instance)];
    }

    /// <inheritdoc/>
    protected override void MapRow(DataRow input, object?[] outputs)
    {
        string path = input.Get<string>(InputColumnName);
        if (ImageFolder is not null && !Path.IsPathRooted(path)) path = Path.Combine(ImageFolder, path);
        var image = ImageDecoder.Decode(path);
        outputs[0] = image.Channels == 3 ? image : image.ToRgb();
    }

    /// <inheritdoc/>
    protected override void SaveCore(ModelSaveContext context)
        => context.WriteJson("settings.json", new Settings { Output = OutputColumnName, Input = InputColumnName, ImageFolder = ImageFolder });

    internal static LoadImagesTransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(Name, s_version);
        var s = context.ReadJson<Settings>("settings.json");
        return new LoadImagesTransformer(s.Output, s.Input, s.ImageFolder);
    }

    private sealed class Settings
    {
        public string Output { get; set; } = "";
        public string Input { get; set; } = "";
        public string? ImageFolder { get; set; }
    }
}
