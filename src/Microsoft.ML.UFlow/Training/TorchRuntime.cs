using System.Runtime.InteropServices;
using TorchSharp;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Loads libtorch through TorchSharp and resolves a training device ("cpu", "cuda", "cuda:1"), failing at once with a
/// message that names the package to reference when the backend or the device is missing.
/// </summary>
/// <remarks>
/// The library references the TorchSharp bindings only; the application chooses the backend: <c>TorchSharp-cpu</c>,
/// or <c>TorchSharp-cuda-linux</c> / <c>TorchSharp-cuda-windows</c> on a GPU machine. Inference never comes here.
/// </remarks>
public static class TorchRuntime
{
    /// <summary>The package an application references to train on the CPU.</summary>
    public const string CpuBackendPackage = "TorchSharp-cpu";

    /// <summary>The packages an application references to train on an NVIDIA GPU.</summary>
    public const string CudaBackendPackages = "TorchSharp-cuda-linux (Linux) or TorchSharp-cuda-windows (Windows)";

    /// <summary>
    /// Makes sure libtorch is loaded and returns the device named by <paramref name="device"/>.
    /// </summary>
    /// <param name="device">"cpu", "cuda" or "cuda:N" (case-insensitive).</param>
    /// <exception cref="InvalidOperationException">libtorch cannot be loaded, or the device is not available.</exception>
    /// <exception cref="ArgumentException">The device name is not understood.</exception>
    public static torch.Device Resolve(string device)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(device);
        string name = device.Trim().ToLowerInvariant();
        bool cuda = name == "cuda" || name.StartsWith("cuda:", StringComparison.Ordinal);
        if (!cuda && name != "cpu")
            throw new ArgumentException($"Unknown training device '{device}': use \"cpu\", \"cuda\" or \"cuda:N\".", nameof(device));
        EnsureLoaded();
        if (!cuda) return torch.CPU;
        if (!torch.cuda.is_available())
            throw new InvalidOperationException(
                $"Training device '{device}' is not available: the libtorch backend loaded by this application has no CUDA " +
                $"device. Reference {CudaBackendPackages} instead of {CpuBackendPackage} on a machine with an NVIDIA GPU " +
                "and its driver, or train with Device = \"cpu\".");
        var resolved = torch.device(name);
        if (resolved.index >= torch.cuda.device_count())
            throw new InvalidOperationException(
                $"Training device '{device}' is not available: this machine has {torch.cuda.device_count()} CUDA device(s).");
        return resolved;
    }

    /// <summary>The OpenMP wait policy set for libtorch when the environment does not choose one.</summary>
    public const string OpenMpWaitPolicy = "PASSIVE";

    /// <summary>Loads libtorch, or explains why it cannot.</summary>
    /// <remarks>
    /// Before libtorch is first loaded on Linux or macOS, sets <c>OMP_WAIT_POLICY=PASSIVE</c> in the process environment
    /// unless it is already set: libtorch's OpenMP threads then sleep instead of spinning between parallel regions. On
    /// cores shared with other processes, spinning threads wait for descheduled partners, which made the U-Flow training
    /// step up to 7× slower on the project's shared 2-core machine (docs/PERFORMANCE.md). On idle, dedicated cores
    /// spinning can save a wake-up per parallel region (not measured here). Set the variable before starting the process
    /// to choose otherwise; it has no effect when libtorch was loaded before this call.
    /// </remarks>
    /// <exception cref="InvalidOperationException">No backend package is present, or the native library fails to load.</exception>
    public static void EnsureLoaded()
    {
        ConfigureOpenMp();
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception e) when (e is DllNotFoundException or NotSupportedException or TypeInitializationException
                                    or BadImageFormatException or EntryPointNotFoundException)
        {
            throw new InvalidOperationException(
                "Training needs libtorch through TorchSharp, and it could not be loaded: " + Innermost(e).Message + " " +
                $"Reference a backend package in the application ({CpuBackendPackage} for the CPU, {CudaBackendPackages} " +
                "for an NVIDIA GPU). On Debian 12 or Ubuntu 22.04 the build marks TorchSharp's GLIBCXX_3.4.32 " +
                "requirement weak in the output folder (TorchSharp.Glibcxx.targets, in this package's buildTransitive/ folder); a copy of libLibTorchSharp.so " +
                "from elsewhere needs the same. Inference does not need libtorch.", e);
        }
    }

    // libgomp reads OMP_WAIT_POLICY once, when libtorch loads it; .NET's Environment.SetEnvironmentVariable does not
    // reach the native environment on Unix, hence setenv (without overwriting a value the user set).
    private static void ConfigureOpenMp()
    {
        if (s_openMpConfigured) return;
        s_openMpConfigured = true;
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())) return;
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null) return;
        try
        {
            _ = SetEnv("OMP_WAIT_POLICY", OpenMpWaitPolicy, 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No C library to call: keep libtorch's default.
        }
    }

    private static bool s_openMpConfigured;

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int SetEnv(string name, string value, int overwrite);

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException != null) e = e.InnerException;
        return e;
    }
}
