namespace Microsoft.ML.UFlow.Benchmarks.Featurization;

/// <summary>
/// How ONNX Runtime runs a featurizer's model: threads, graph optimisation and the device, with the semantics of
/// ML.NET's <c>ApplyOnnxModel</c> (<c>gpuDeviceId</c>, <c>fallbackToCpu</c>). Each featurizer turns these into the
/// <c>Microsoft.ML.OnnxRuntime.SessionOptions</c> of its own <c>InferenceSession</c>.
/// </summary>
internal sealed class OnnxRuntimeOptions
{
    /// <summary>
    /// Threads used inside one operator; null (the default) uses <see cref="Environment.ProcessorCount"/> (which honours the
    /// process's CPU affinity and container limits); 0 lets ONNX Runtime choose (one per physical core).
    /// </summary>
    public int? IntraOpNumThreads { get; set; }

    /// <summary>
    /// Threads used to run independent operators in parallel; null (the default) lets ONNX Runtime decide. The featurizers'
    /// sessions execute operators sequentially, a mode in which ONNX Runtime creates no inter-op pool, so this has no effect
    /// there; it is kept for parity with ONNX Runtime's options.
    /// </summary>
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
    /// the CPU if <see cref="FallbackToCpu"/> is set and fails with an <see cref="InvalidOperationException"/> otherwise. The
    /// GPU needs ONNX Runtime's GPU build (<c>Microsoft.ML.OnnxRuntime.Gpu</c>) and a working CUDA set-up; with the CPU
    /// package that this library references, a GPU request always falls back or fails.
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
