using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Nn;

/// <summary>Layers applied in order; backward runs them in reverse.</summary>
public sealed class Sequential : ILayer
{
    private readonly ILayer[] _layers;

    /// <summary>Creates the chain.</summary>
    public Sequential(params ILayer[] layers)
    {
        _layers = layers;
        Parameters = layers.SelectMany(l => l.Parameters).ToArray();
    }

    /// <summary>The layers, in forward order.</summary>
    public IReadOnlyList<ILayer> Layers => _layers;

    /// <inheritdoc/>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <inheritdoc/>
    public Tensor Forward(Tensor input)
    {
        Tensor x = input;
        foreach (ILayer layer in _layers) x = layer.Forward(x);
        return x;
    }

    /// <inheritdoc/>
    public Tensor Backward(Tensor gradOutput)
    {
        Tensor g = gradOutput;
        for (int i = _layers.Length - 1; i >= 0; i--) g = _layers[i].Backward(g);
        return g;
    }
}
