using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Nn;

/// <summary>
/// A differentiable layer with an explicit backward pass.
/// </summary>
/// <remarks>
/// <see cref="Forward"/> keeps what <see cref="Backward"/> needs (usually its input) until the next forward call, and
/// returns a tensor the layer owns and reuses on the next call: callers must not keep it across steps.
/// <see cref="Backward"/> accumulates parameter gradients and returns ∂L/∂input (also owned by the layer).
/// </remarks>
public interface ILayer
{
    /// <summary>Computes the output for <paramref name="input"/>.</summary>
    Tensor Forward(Tensor input);

    /// <summary>Given ∂L/∂output of the last forward call, accumulates parameter gradients and returns ∂L/∂input.</summary>
    Tensor Backward(Tensor gradOutput);

    /// <summary>The trainable parameters (empty for parameter-free layers).</summary>
    IReadOnlyList<Parameter> Parameters { get; }
}
