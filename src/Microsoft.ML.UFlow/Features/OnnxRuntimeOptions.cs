namespace Microsoft.ML.UFlow.Features;

/// <summary>
/// How ONNX Runtime runs a featurizer's model: threads, graph optimisation and the device, with the semantics of
/// ML.NET's <c>ApplyOnnxModel</c> (<c>gpuDeviceId</c>, <c>fallbackToCpu</c>).
/// </summary>
public sealed class OnnxRuntimeOptions
{
    /// <summary>Threads used inside one operator; null (the default) lets ONNX Runtime use one per physical core.</summary>
    public int? IntraOpNumThreads { get; set; }

    /// <summary>Threads used to run independent operators in parallel; null (the default) lets ONNX Runtime decide.</summary>
    public int? InterOpNumThreads { get; set; }

    /// <summary>
    /// Whether ONNX Runtime's worker threads busy-wait for work after a run (its default, true: lowest latency for
    /// back-to-back runs). Set false when other CPU work (such as training the flow) runs between featurizer calls, so that
    /// idle ONNX Runtime threads do not take cores from it.
    /// </summary>
    public bool AllowThreadSpinning { get; set; } = true;

    /// <summary>Graph optimisation level; the default is <see cref="OnnxGraphOptimizationLevel.All"/>.</summary>
    public OnnxGraphOptimizationLevel GraphOptimizationLevel { get; set; } = OnnxGraphOptimizationLevel.All;

    /// <summary>
    /// The CUDA device to run on; null (the default) runs on the CPU. When the GPU cannot be used the session falls back to
    /// the CPU if <see cref="FallbackToCpu"/> is set and fails with an <see cref="OnnxRuntimeException"/> otherwise.
    /// </summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>Whether a GPU request that cannot be served runs on the CPU instead of failing (default false, as in ML.NET).</summary>
    public bool FallbackToCpu { get; set; }

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> for a negative thread count or device id.</summary>
    internal void Validate()
    {
        if (IntraOpNumThreads is < 0) throw new ArgumentOutOfRangeException(nameof(IntraOpNumThreads), IntraOpNumThreads, "Thread counts must be 0 (ORT default) or positive.");
        if (InterOpNumThreads is < 0) throw new ArgumentOutOfRangeException(nameof(InterOpNumThreads), InterOpNumThreads, "Thread counts must be 0 (ORT default) or positive.");
        if (GpuDeviceId is < 0) throw new ArgumentOutOfRangeException(nameof(GpuDeviceId), GpuDeviceId, "GPU device ids are non-negative.");
        if (!Enum.IsDefined(GraphOptimizationLevel)) throw new ArgumentOutOfRangeException(nameof(GraphOptimizationLevel), GraphOptimizationLevel, "Unknown optimisation level.");
    }
}
