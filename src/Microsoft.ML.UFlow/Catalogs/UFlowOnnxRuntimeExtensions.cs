using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms.Onnx;

namespace Microsoft.ML;

/// <summary>ONNX Runtime settings for scoring U-Flow and CS-Flow pipelines row by row.</summary>
public static class UFlowOnnxRuntimeExtensions
{
    /// <summary>
    /// Make every ONNX Runtime session this context creates from now on (featurizers, flow scorers, also those of models
    /// loaded later) stop spin-waiting between operators. ML.NET runs the backbone and the flow graph one image at a time,
    /// with managed work between the runs (image decoding, the NFA tree); ONNX Runtime's worker threads spin after each
    /// parallel operator waiting for more, which costs CPU time but not wall time here (the <c>uflow</c> CLI does this;
    /// docs/PERFORMANCE.md has the measurement). Outputs are unchanged. Intra-op threads stay ONNX Runtime's default
    /// (the machine's cores).
    /// </summary>
    /// <param name="ml">The context; its <c>OnnxSessionOptions</c> are replaced.</param>
    /// <param name="gpuDeviceId">Sessions on this GPU (needs Microsoft.ML.OnnxRuntime.Gpu) instead of the CPU. These
    /// settings take precedence over each transformer's own <c>gpuDeviceId</c>/<c>fallbackToCpu</c>, so a pipeline on a
    /// GPU passes its device here too; there is no fallback to the CPU.</param>
    public static void DisableOnnxRuntimeSpinning(this MLContext ml, int? gpuDeviceId = null)
    {
        ArgumentNullException.ThrowIfNull(ml);
        if (gpuDeviceId is < 0) throw new ArgumentOutOfRangeException(nameof(gpuDeviceId), gpuDeviceId, "A GPU device id is 0 or more.");
        ml.SetOnnxSessionOption(new OnnxSessionOptions { CreateSessionOptions = () => CreateSessionOptions(gpuDeviceId) });
    }

    // ONNX Runtime copies the options into each session; ML.NET's own sessions leave theirs to the finalizer as well.
    private static SessionOptions CreateSessionOptions(int? gpuDeviceId)
    {
        var options = gpuDeviceId is int device ? SessionOptions.MakeSessionOptionWithCudaProvider(device) : new SessionOptions();
        options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL;
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }
}
