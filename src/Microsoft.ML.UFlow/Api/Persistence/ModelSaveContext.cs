using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Microsoft.ML.UFlow.Api.Persistence;

/// <summary>
/// Where one component writes itself in a model <c>.zip</c>: its own entry folder, holding <c>header.json</c>,
/// JSON settings, little-endian float32 weights and embedded files (for example the ONNX backbone). Children
/// (the transformers of a chain, the parts of a composite) get sub-folders.
/// </summary>
public sealed class ModelSaveContext
{
    private readonly ZipArchive _archive;
    private bool _headerWritten;

    internal ModelSaveContext(ZipArchive archive, string folder)
    {
        _archive = archive;
        Folder = folder;
    }

    /// <summary>The entry folder of this component inside the zip (ends with '/').</summary>
    public string Folder { get; }

    internal static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>Writes the versioned header; each component writes it exactly once.</summary>
    public void WriteHeader(string component, ComponentVersion version)
    {
        ArgumentNullException.ThrowIfNull(version);
        if (_headerWritten) throw new InvalidOperationException($"The header of '{Folder}' was already written.");
        _headerWritten = true;
        WriteJson("header.json", new ComponentHeader
        {
            Component = component,
            Signature = version.Signature,
            Version = version.Version,
            MinReadableVersion = version.MinReadableVersion,
            WrittenBy = typeof(ModelSaveContext).Assembly.GetName().Version?.ToString() ?? "",
        });
    }

    /// <summary>Writes a settings object as JSON.</summary>
    public void WriteJson<T>(string name, T value)
    {
        using var stream = Create(name);
        JsonSerializer.Serialize(stream, value, JsonOptions);
    }

    /// <summary>Writes raw bytes (for example an embedded ONNX model).</summary>
    public void WriteBytes(string name, ReadOnlySpan<byte> bytes)
    {
        using var stream = Create(name);
        stream.Write(bytes);
    }

    /// <summary>Writes float32 values, little-endian, with no header (the length is the entry size / 4).</summary>
    public void WriteFloats(string name, ReadOnlySpan<float> values)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Model files are little-endian; big-endian hosts are not supported.");
        WriteBytes(name, MemoryMarshal.AsBytes(values));
    }

    /// <summary>Returns the context of a child component stored in sub-folder <paramref name="name"/>.</summary>
    public ModelSaveContext CreateChild(string name) => new(_archive, Folder + name + "/");

    private Stream Create(string name)
    {
        if (name.Contains('/') || name.Contains('\\')) throw new ArgumentException($"Entry name '{name}' must not contain a path separator.", nameof(name));
        return _archive.CreateEntry(Folder + name, CompressionLevel.Fastest).Open();
    }
}
