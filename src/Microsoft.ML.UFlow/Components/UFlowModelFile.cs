using System.IO.Compression;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Loads model files with the errors a user needs: a missing file, a file cut short, a version-1 model (which ML.NET
/// cannot read), each named; otherwise the plain <c>MLContext.Model.Load</c>.
/// </summary>
public static class UFlowModelFile
{
    /// <summary>Loads the ML.NET model at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a complete zip, is a version-1 model, or ML.NET cannot read it.</exception>
    public static ITransformer Load(MLContext context, string path, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(context);
        using (OpenZip(path)) { } // the checks with the clearer messages
        try
        {
            return context.Model.Load(path, out inputSchema);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or InvalidDataException or ArgumentException)
        {
            throw new InvalidDataException($"'{path}' cannot be loaded as an ML.NET model: {e.Message}", e);
        }
    }

    internal static ZipArchive OpenZip(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' is not a complete zip file, so not a model (cut short, or another kind of file).", e);
        }
        if (zip.GetEntry("model.json") is not null && zip.GetEntry("Schema") is null)
        {
            zip.Dispose();
            throw new InvalidDataException($"'{path}' is a version-1 Microsoft.ML.UFlow model (its own format, not ML.NET's); " +
                "version 2 saves ordinary ML.NET models. Retrain it with this version ('uflow train').");
        }
        return zip;
    }

    // OnnxTransformer saves its model as a length-prefixed byte array (Int32 count, then the bytes).
    internal static byte[] ReadOnnxEntry(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        byte[] bytes = buffer.ToArray();
        if (bytes.Length >= 4 && BitConverter.ToInt32(bytes, 0) == bytes.Length - 4) return bytes[4..];
        if (bytes.Length >= 8 && BitConverter.ToInt64(bytes, 0) == bytes.Length - 8) return bytes[8..];
        return bytes;
    }
}
