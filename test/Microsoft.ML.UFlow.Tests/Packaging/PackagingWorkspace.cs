using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Packaging;

/// <summary>
/// One packaging run: a temporary folder for build outputs and restored packages, and a prerelease version unique to the
/// run. The library is packed into the repository's artifacts/ folder (where examples/NuGet.config looks) under that
/// version; the package is restored into the run's own packages folder, with the user's NuGet cache as a fallback for
/// every other package (nothing is downloaded again, and the cache never receives a test package). Disposing removes the
/// folder and the run's packages from artifacts/.
/// </summary>
internal sealed class PackagingWorkspace : IDisposable
{
    private PackagingWorkspace(string root, string suffix, string globalPackages)
    {
        Root = root;
        VersionSuffix = suffix;
        GlobalPackages = globalPackages;
    }

    /// <summary>The run's temporary folder.</summary>
    public string Root { get; }

    /// <summary>The prerelease label of the run's packages.</summary>
    public string VersionSuffix { get; }

    /// <summary>The user's NuGet packages folder (the fallback for every package but the run's).</summary>
    public string GlobalPackages { get; }

    /// <summary>The repository's artifacts folder.</summary>
    public static string Artifacts => Path.Combine(SharedData.RepositoryRoot, "artifacts");

    /// <summary>Creates the folder and picks the version label.</summary>
    public static PackagingWorkspace Create()
    {
        string root = Path.Combine(Path.GetTempPath(), "uflow-packaging-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        return new PackagingWorkspace(root, "test-" + Guid.NewGuid().ToString("N")[..12], LocateGlobalPackages(root));
    }

    /// <summary>Where the build of <paramref name="projectName"/> puts its program.</summary>
    public string OutputOf(string projectName) => Path.Combine(Root, "build", "bin", projectName, "release");

    /// <summary>The options every dotnet command of the run takes: Release, outputs in the run's folder, no build servers.</summary>
    public IEnumerable<string> CommonOptions() =>
        ["-c", "Release", "--artifacts-path", Path.Combine(Root, "build"), "--disable-build-servers", "-nologo", $"-p:VersionSuffix={VersionSuffix}"];

    /// <summary>The options of a build that restores the run's package.</summary>
    public IEnumerable<string> ConsumerOptions() =>
        [.. CommonOptions(), $"-p:RestorePackagesPath={Path.Combine(Root, "packages")}", $"-p:RestoreFallbackFolders={GlobalPackages}"];

    public void Dispose()
    {
        foreach (string file in Directory.Exists(Artifacts) ? Directory.GetFiles(Artifacts, $"*-{VersionSuffix}.*nupkg") : [])
            File.Delete(file);
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    private static string LocateGlobalPackages(string workingDirectory)
    {
        if (Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } fromEnvironment) return fromEnvironment;
        var (code, output) = DotNetProcess.Run(DotNetProcess.DotNet, ["nuget", "locals", "global-packages", "--list"], workingDirectory, TimeSpan.FromMinutes(1));
        const string prefix = "global-packages:";
        string? line = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(code == 0 && line is not null, "dotnet nuget locals global-packages --list failed:\n" + output);
        return line![prefix.Length..].Trim();
    }
}
