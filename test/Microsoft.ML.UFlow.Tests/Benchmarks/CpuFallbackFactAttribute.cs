using Microsoft.ML.UFlow.Benchmarks.Featurization;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Benchmarks;

/// <summary>
/// A fact about falling back from a requested GPU to the CPU. Skipped, with the reason, when ../shared is absent or
/// when GPU device 0 really opens (a working CUDA set-up leaves nothing to fall back from), so that such a machine
/// reports a skip instead of a silent pass. The probe opens one session once per test run.
/// </summary>
public sealed class CpuFallbackFactAttribute : FactAttribute
{
    /// <summary>The model the probe (and the fallback test) opens.</summary>
    public const string ProbeModel = "mobilenetv2_1.0_imagenet_features";

    private static readonly Lazy<string?> s_skipReason = new(Probe);

    /// <summary>Creates the attribute.</summary>
    public CpuFallbackFactAttribute()
    {
        Skip = s_skipReason.Value;
    }

    private static string? Probe()
    {
        if (SharedData.Root is null) return SharedData.MissingMessage;
        string? model = SharedData.File("models", ProbeModel + ".onnx");
        if (model is null) return null; // let the test fail with the missing-file message
        try
        {
            using var featurizer = new OnnxFeaturizer(model, ["stride8"], new OnnxRuntimeOptions { GpuDeviceId = 0, FallbackToCpu = true, IntraOpNumThreads = 1 });
            return featurizer.UsesGpu
                ? "GPU device 0 opened with CUDA, so there is no CPU fallback to exercise here; run this test on a machine without a working CUDA set-up."
                : null;
        }
        catch (Exception)
        {
            return null; // let the test itself report the failure
        }
    }
}
