using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Nn;

/// <summary>A trainable tensor and its gradient (same shape). Backward passes accumulate into <see cref="Grad"/>.</summary>
public sealed class Parameter
{
    /// <summary>Creates a zero-initialised parameter of the given shape.</summary>
    public Parameter(string name, params int[] shape)
    {
        Name = name;
        Value = new Tensor(shape);
        Grad = new Tensor(shape);
    }

    /// <summary>A name unique within its module, used in saved models and error messages.</summary>
    public string Name { get; }

    /// <summary>The current value.</summary>
    public Tensor Value { get; }

    /// <summary>The accumulated gradient of the loss with respect to <see cref="Value"/>.</summary>
    public Tensor Grad { get; }

    /// <summary>Sets the gradient to zero.</summary>
    public void ZeroGrad() => Grad.Clear();
}
