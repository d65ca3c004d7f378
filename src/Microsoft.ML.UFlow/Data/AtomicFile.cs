using System.Text;

namespace Microsoft.ML.UFlow.Data;

/// <summary>
/// Writes a file so that readers see either its old content or the complete new one, never a part: the bytes go to a
/// temporary file beside it (<c>&lt;name&gt;.&lt;process&gt;-&lt;guid&gt;.tmp</c>, so concurrent writers never share one),
/// are flushed to disk, and the temporary file is renamed over the target; on any failure it is deleted and the target
/// is untouched. Every file the library and the CLI save (models, checkpoints, feature caches, reports) goes through here.
/// </summary>
public static class AtomicFile
{
    /// <summary>Creates the folder of <paramref name="path"/> if needed and writes the file with <paramref name="write"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        string temp = $"{full}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp";
        try
        {
            // Read-write: a zip writer (ML.NET's Model.Save) seeks back into what it wrote.
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true); // the rename must never expose a file whose bytes are not on disk yet
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } // keep the original error, not a clean-up one
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte-order mark, atomically.</summary>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Write(path, stream => stream.Write(new UTF8Encoding(false).GetBytes(text)));
    }
}
