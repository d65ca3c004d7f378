using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.Persistence;

/// <summary>
/// The model <c>.zip</c>: <c>model.json</c> (file format version, input schema) and the root component in folder
/// <c>model/</c>. Saving writes a temporary file beside the target and renames it, so a crash never leaves a half-written model.
/// </summary>
internal static class ModelFile
{
    public const string Format = "Microsoft.ML.UFlow model";
    public const int FormatVersion = 1;
    public const int MinReadableFormatVersion = 1;
    private const string RootFolder = "model/";

    private sealed class Manifest
    {
        public string Format { get; set; } = "";
        public int Version { get; set; }
        public int MinReadableVersion { get; set; }
        public List<ColumnEntry> InputSchema { get; set; } = [];
        public string Note { get; set; } = "";
    }

    private sealed class ColumnEntry
    {
        public string Name { get; set; } = "";
        public string Type { get; set; } = "";
    }

    public static void Save(ITransformer model, DataSchema inputSchema, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentException.ThrowIfNullOrEmpty(path);
        model.GetOutputSchema(inputSchema); // refuse to save a model that cannot run on its own input schema
        AtomicFile.Write(path, stream =>
        {
            using var archive = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            var manifest = new Manifest
            {
                Format = Format,
                Version = FormatVersion,
                MinReadableVersion = MinReadableFormatVersion,
                InputSchema = inputSchema.Select(c => new ColumnEntry { Name = c.Name, Type = c.Type.ToString() }).ToList(),
                Note = "Written by Microsoft.ML.UFlow (ML.NET-shaped API; not loadable by ML.NET).",
            };
            using (var m = archive.CreateEntry("model.json").Open()) JsonSerializer.Serialize(m, manifest, ModelSaveContext.JsonOptions);
            model.Save(new ModelSaveContext(archive, RootFolder));
        });
    }

    public static ITransformer Load(string path, out DataSchema inputSchema)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        using var stream = File.OpenRead(path);
        ZipArchive archive;
        try { archive = new ZipArchive(stream, ZipArchiveMode.Read); }
        catch (InvalidDataException e) { throw new ModelFormatException($"'{path}' is not a zip file, so not a U-Flow model.", e); }
        using (archive)
        {
            var entry = archive.GetEntry("model.json") ?? throw new ModelFormatException($"'{path}' lacks model.json; it is not a Microsoft.ML.UFlow model.");
            Manifest manifest;
            try
            {
                using var m = entry.Open();
                manifest = JsonSerializer.Deserialize<Manifest>(m, ModelSaveContext.JsonOptions) ?? throw new ModelFormatException($"'{path}': model.json is empty.");
            }
            catch (JsonException e) { throw new ModelFormatException($"'{path}': model.json is not valid JSON: {e.Message}", e); }
            if (manifest.Format != Format) throw new ModelFormatException($"'{path}' is a '{manifest.Format}' file, not a {Format}.");
            if (manifest.MinReadableVersion > FormatVersion)
            {
                throw new ModelFormatException($"'{path}' was written by a newer version of Microsoft.ML.UFlow (file format {manifest.Version}, readable from {manifest.MinReadableVersion}); this library reads format {FormatVersion}. Update the library to load it.");
            }
            try
            {
                inputSchema = new DataSchema((manifest.InputSchema ?? throw new FormatException("model.json has no input schema."))
                    .Select(c => new SchemaColumn(c.Name, ColumnType.Parse(c.Type))));
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                throw new ModelFormatException($"'{path}': the saved input schema cannot be read: {e.Message}", e);
            }
            ITransformer model;
            try
            {
                model = ComponentRegistry.Load(new ModelLoadContext(archive, RootFolder, path));
            }
            catch (Exception e) when (e is not ModelFormatException
                && e is FormatException or InvalidDataException or EndOfStreamException or OverflowException or ArgumentException or NullReferenceException or JsonException)
            {
                // Damaged or foreign component entries surface as one documented exception that names the file.
                throw new ModelFormatException($"'{path}': a model component cannot be read (the file is damaged or was not written by this library): {e.Message}", e);
            }
            model.GetOutputSchema(inputSchema);
            return model;
        }
    }
}
