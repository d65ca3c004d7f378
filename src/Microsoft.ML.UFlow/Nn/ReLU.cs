using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Nn;

/// <summary>Rectifier y = max(x, 0).</summary>
public sealed class ReLU : ILayer
{
    private readonly LeakyReLU _inner = new(0f);

    /// <inheritdoc/>
    public IReadOnlyList<Parameter> Parameters => [];

    /// <inheritdoc/>
    public Tensor Forward(Tensor input) => _inner.Forward(input);

    /// <inheritdoc/>
    public Tensor Backward(Tensor gradOutput) => _inner.Backward(gradOutput);
}
