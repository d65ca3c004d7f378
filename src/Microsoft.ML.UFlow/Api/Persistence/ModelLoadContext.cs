using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Microsoft.ML.UFlow.Api.Persistence;

/// <summary>Reads one component's entry folder of a model <c>.zip</c> (the counterpart of <see cref="ModelSaveContext"/>).</summary>
public sealed class ModelLoadContext
{
    private readonly ZipArchive _archive;

    internal ModelLoadContext(ZipArchive archive, string folder, string filePath)
    {
        _archive = archive;
        Folder = folder;
        FilePath = filePath;
        Header = ReadJson<ComponentHeader>("header.json");
    }

    /// <summary>The entry folder of this component.</summary>
    public string Folder { get; }

    /// <summary>The model file being read (named in errors).</summary>
    public string FilePath { get; }

    /// <summary>The component's header.</summary>
    public ComponentHeader Header { get; }

    /// <summary>
    /// Checks the header against what this library reads: the right component and signature, and a
    /// <see cref="ComponentHeader.MinReadableVersion"/> not above this library's version.
    /// </summary>
    /// <exception cref="ModelFormatException">The entry was written by a newer version or is another format.</exception>
    public void CheckVersion(string component, ComponentVersion current)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (Header.Component != component || Header.Signature != current.Signature)
        {
            throw new ModelFormatException($"'{FilePath}', entry '{Folder}': expected component {component} (signature {current.Signature}) but found {Header.Component} (signature {Header.Signature}).");
        }
        if (Header.MinReadableVersion > current.Version)
        {
            throw new ModelFormatException(
                $"'{FilePath}', entry '{Folder}': component {component} was written by a newer version of the library " +
                $"(format version {Header.Version}, readable from version {Header.MinReadableVersion}); this library reads up to version {current.Version}. Update Microsoft.ML.UFlow to load this model.");
        }
    }

    /// <summary>Reads a JSON settings entry.</summary>
    /// <exception cref="ModelFormatException">The entry is missing or malformed.</exception>
    public T ReadJson<T>(string name)
    {
        using var stream = Open(name);
        try
        {
            return JsonSerializer.Deserialize<T>(stream, ModelSaveContext.JsonOptions)
                ?? throw new ModelFormatException($"'{FilePath}', entry '{Folder}{name}' is empty.");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"'{FilePath}', entry '{Folder}{name}' is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Reads a raw bytes entry.</summary>
    public byte[] ReadBytes(string name)
    {
        using var stream = Open(name);
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    /// <summary>Reads a little-endian float32 entry, checking its length when <paramref name="expectedCount"/> is given.</summary>
    public float[] ReadFloats(string name, int expectedCount = -1)
    {
        byte[] bytes = ReadBytes(name);
        if (bytes.Length % 4 != 0 || (expectedCount >= 0 && bytes.Length != 4 * expectedCount))
        {
            throw new ModelFormatException($"'{FilePath}', entry '{Folder}{name}' holds {bytes.Length} bytes; expected {(expectedCount >= 0 ? 4 * expectedCount : "a multiple of 4")}.");
        }
        return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    /// <summary>True when this component folder holds the named entry.</summary>
    public bool Contains(string name) => _archive.GetEntry(Folder + name) is not null;

    /// <summary>Loads the child component stored in sub-folder <paramref name="name"/>.</summary>
    public ITransformer LoadChild(string name) => ComponentRegistry.Load(new ModelLoadContext(_archive, Folder + name + "/", FilePath));

    private Stream Open(string name)
    {
        var entry = _archive.GetEntry(Folder + name) ?? throw new ModelFormatException($"'{FilePath}' lacks the entry '{Folder}{name}'.");
        return entry.Open();
    }
}
