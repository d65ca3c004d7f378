namespace Microsoft.ML.UFlow.Data;

/// <summary>File-system helpers shared by the readers: image listing in a fixed order and clear errors.</summary>
internal static class DatasetFiles
{
    /// <summary>Extensions recognised as images (case-insensitive).</summary>
    public static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp"];

    public static bool IsImage(string path) =>
        ImageExtensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    /// <summary>Image files directly in a folder, ordinal order by name.</summary>
    public static List<string> ListImages(string directory)
    {
        var files = Directory.EnumerateFiles(directory).Where(IsImage).ToList();
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>Image files directly in a folder; throws when the folder is missing or holds none.</summary>
    public static List<string> ListImagesRequired(string directory, string role)
    {
        RequireDirectory(directory, role);
        var files = ListImages(directory);
        if (files.Count == 0)
        {
            throw new InvalidDataException($"The {role} folder '{directory}' contains no image files ({string.Join(", ", ImageExtensions)}).");
        }
        return files;
    }

    public static void RequireDirectory(string directory, string role)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"The {role} folder '{directory}' does not exist.");
    }

    public static List<string> ListSubdirectories(string directory)
    {
        var dirs = Directory.EnumerateDirectories(directory).ToList();
        dirs.Sort(StringComparer.Ordinal);
        return dirs;
    }

    /// <summary>Opens the file for reading and closes it; throws an <see cref="IOException"/> naming it when that fails or it is empty.</summary>
    public static void CheckReadable(string path, string role)
    {
        long length;
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            length = RandomAccess.GetLength(handle);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot read the {role} file '{path}': {ex.Message}", ex);
        }
        if (length == 0) throw new IOException($"The {role} file '{path}' is empty (0 bytes).");
    }
}
