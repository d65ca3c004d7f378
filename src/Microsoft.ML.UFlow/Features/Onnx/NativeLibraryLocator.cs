using System.Runtime.InteropServices;

namespace Microsoft.ML.UFlow.Features.Onnx;

/// <summary>
/// Finds and loads a native library the project installs with <c>build/install-native.sh</c>. Search order:
/// the folder named by <c>UFLOW_NATIVE_DIR</c>, the application's base directory, <c>.native/linux-x64</c> in the base
/// directory or any of its parents (a source checkout), then the system's loader search path.
/// </summary>
internal static class NativeLibraryLocator
{
    /// <summary>The environment variable that names a folder holding the native libraries.</summary>
    public const string DirectoryVariable = "UFLOW_NATIVE_DIR";

    /// <summary>The set-up script that installs the native libraries.</summary>
    public const string InstallScript = "build/install-native.sh";

    /// <summary>The platform folder under <c>.native</c>.</summary>
    public const string PlatformFolder = "linux-x64";

    /// <summary>Loads <paramref name="fileName"/> or throws a <see cref="DllNotFoundException"/> naming every place searched and the script to run.</summary>
    public static IntPtr Load(string fileName, string description)
    {
        var tried = new List<string>();
        foreach (string candidate in Candidates(fileName))
        {
            tried.Add(candidate);
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out IntPtr handle))
            {
                return handle;
            }
        }
        tried.Add(fileName + " (system search path)");
        if (NativeLibrary.TryLoad(fileName, out IntPtr system))
        {
            return system;
        }
        throw new DllNotFoundException(
            $"The native {description} library '{fileName}' could not be loaded. Run '{InstallScript}' from the repository root " +
            $"(it installs it into .native/{PlatformFolder}), or set {DirectoryVariable} to the folder that holds it. Searched: " +
            string.Join("; ", tried) + ".");
    }

    /// <summary>The file paths tried before the system search path, in order.</summary>
    internal static IEnumerable<string> Candidates(string fileName)
    {
        string? fromEnv = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (!string.IsNullOrEmpty(fromEnv))
        {
            yield return Path.Combine(fromEnv, fileName);
        }
        string baseDir = AppContext.BaseDirectory;
        yield return Path.Combine(baseDir, fileName);
        for (DirectoryInfo? d = new(baseDir); d is not null; d = d.Parent)
        {
            yield return Path.Combine(d.FullName, ".native", PlatformFolder, fileName);
        }
    }
}
