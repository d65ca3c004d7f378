namespace Microsoft.ML.UFlow.Tests.Infrastructure;

/// <summary>
/// Locates the project's <c>../shared</c> folder (real data and models) next to the repository root, which is found by
/// walking up from the test assembly to the folder holding <c>Microsoft.ML.UFlow.sln</c>. The environment variable
/// <c>UFLOW_SHARED</c> overrides the location.
/// </summary>
public static class SharedData
{
    private static readonly Lazy<string?> s_root = new(Locate);

    /// <summary>The shared folder, or null when it is absent.</summary>
    public static string? Root => s_root.Value;

    /// <summary>The repository root (the folder holding the solution file).</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Folder of the MVTec AD bottle category, or null.</summary>
    public static string? Bottle => Existing(Root, "data", "mvtec_ad", "bottle");

    /// <summary>Folder of the Magnetic Tile Defects data set, or null.</summary>
    public static string? Mtd => Existing(Root, "data", "mtd");

    /// <summary>Folder of the ONNX backbones, or null.</summary>
    public static string? Models => Existing(Root, "models");

    /// <summary>The message used when a test is skipped because the shared folder is missing.</summary>
    public const string MissingMessage = "../shared (real data and models) is absent next to the repository; set UFLOW_SHARED or place it beside the clone.";

    /// <summary>Returns the absolute path of a file under the shared folder, or null when it (or the folder) is absent.</summary>
    public static string? File(params string[] parts)
    {
        if (Root is null) return null;
        string path = Path.Combine([Root, .. parts]);
        return System.IO.File.Exists(path) ? path : null;
    }

    private static string? Existing(string? root, params string[] parts)
    {
        if (root is null) return null;
        string path = Path.Combine([root, .. parts]);
        return Directory.Exists(path) ? path : null;
    }

    private static string? Locate()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("UFLOW_SHARED");
        if (!string.IsNullOrEmpty(fromEnv)) return Directory.Exists(fromEnv) ? Path.GetFullPath(fromEnv) : null;
        string candidate = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));
        return Directory.Exists(candidate) ? candidate : null;
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(d.FullName, "Microsoft.ML.UFlow.sln"))) return d.FullName;
        }
        throw new InvalidOperationException("Cannot find the repository root (Microsoft.ML.UFlow.sln) above " + AppContext.BaseDirectory);
    }
}

/// <summary>A fact that is skipped, with <see cref="SharedData.MissingMessage"/>, when ../shared is absent.</summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute.</summary>
    public SharedDataFactAttribute()
    {
        if (SharedData.Root is null) Skip = SharedData.MissingMessage;
    }
}

/// <summary>A theory that is skipped, with <see cref="SharedData.MissingMessage"/>, when ../shared is absent.</summary>
public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    /// <summary>Creates the attribute.</summary>
    public SharedDataTheoryAttribute()
    {
        if (SharedData.Root is null) Skip = SharedData.MissingMessage;
    }
}
