using Microsoft.ML.Data;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>
/// ML.NET's image loader reports a file it cannot decode without naming it (and from a worker thread, whose row position
/// is not the failing row's). On that error path only, these helpers find the first image that does not decode and
/// name it, keeping ML.NET's reason.
/// </summary>
internal static class ImageErrors
{
    /// <summary>Enumerates <paramref name="rows"/>; a failure names the first unreadable file of <paramref name="images"/>' <c>ImagePath</c>.</summary>
    public static IEnumerable<T> Named<T>(IEnumerable<T> rows, IDataView images)
    {
        using IEnumerator<T> rowEnumerator = rows.GetEnumerator();
        while (true)
        {
            bool more;
            try
            {
                more = rowEnumerator.MoveNext();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                string? bad = FirstUnreadable(images.GetColumn<string>(AnomalyColumns.ImagePath));
                if (bad is null) throw;
                throw Unreadable(bad, e);
            }
            if (!more) yield break;
            yield return rowEnumerator.Current;
        }
    }

    /// <summary>Runs <paramref name="predict"/> on one image; a failure on a file that does not decode names it.</summary>
    public static T Named<T>(string imagePath, Func<T> predict)
    {
        try
        {
            return predict();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (FirstUnreadable([imagePath]) is null) throw;
            throw Unreadable(imagePath, e);
        }
    }

    private static InvalidDataException Unreadable(string path, Exception e)
    {
        Exception inner = e;
        while (inner.InnerException is not null) inner = inner.InnerException;
        return new InvalidDataException($"The image '{path}' could not be read: {inner.Message}", e);
    }

    private static string? FirstUnreadable(IEnumerable<string> paths)
    {
        foreach (string path in paths)
        {
            try
            {
                using var image = MLImage.CreateFromFile(path);
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                return path;
            }
        }
        return null;
    }
}
