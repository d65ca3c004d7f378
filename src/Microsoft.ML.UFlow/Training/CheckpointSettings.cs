namespace Microsoft.ML.UFlow.Training;

/// <summary>The check both training checkpoints make before continuing: each saved setting equals the requested one.</summary>
internal static class CheckpointSettings
{
    /// <summary>Throws an <see cref="ArgumentException"/> naming the file and the setting when <paramref name="saved"/> differs from <paramref name="requested"/>.</summary>
    public static void RequireSame<T>(string source, string what, T saved, T requested, string parameterName) where T : IEquatable<T>
    {
        if (!saved.Equals(requested))
        {
            throw new ArgumentException($"The training checkpoint '{source}' was made with {what} {saved}, but {requested} is asked for; a continued run needs the same settings.", parameterName);
        }
    }
}
