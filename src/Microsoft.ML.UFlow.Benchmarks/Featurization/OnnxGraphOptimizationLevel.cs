namespace Microsoft.ML.UFlow.Benchmarks.Featurization;

/// <summary>ONNX Runtime's graph optimisation levels (<c>GraphOptimizationLevel</c>).</summary>
internal enum OnnxGraphOptimizationLevel
{
    /// <summary>No graph optimisation.</summary>
    Disabled = 0,
    /// <summary>Semantics-preserving node eliminations and constant folding.</summary>
    Basic = 1,
    /// <summary>Basic plus complex node fusions.</summary>
    Extended = 2,
    /// <summary>Every optimisation, including layout changes (ONNX Runtime's default).</summary>
    All = 99,
}
