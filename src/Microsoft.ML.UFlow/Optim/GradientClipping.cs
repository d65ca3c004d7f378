using Microsoft.ML.UFlow.Nn;

namespace Microsoft.ML.UFlow.Optim;

/// <summary>Gradient-norm clipping as PyTorch 1.13's <c>torch.nn.utils.clip_grad_norm_</c> (L2 norm over all gradients).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Multiplies all gradients by min(1, maxNorm/(total + 1e-6)) where total is the L2 norm of all gradients
    /// together (float32 arithmetic as PyTorch). Returns the total norm before clipping. As in PyTorch, a non-finite
    /// total norm makes the coefficient NaN and so the gradients NaN (check the returned norm to skip such steps).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is negative or NaN.</exception>
    public static double ClipGradNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "The maximum norm must be non-negative.");
        double sumSquares = 0;
        foreach (Parameter p in parameters)
        {
            float n = TensorPrimitives.Norm((ReadOnlySpan<float>)p.Grad.Span);
            sumSquares += (double)n * n;
        }
        float total = (float)Math.Sqrt(sumSquares);
        float coef = (float)maxNorm / (total + 1e-6f);
        if (!(coef >= 1f))
        {
            foreach (Parameter p in parameters) TensorPrimitives.Multiply(p.Grad.Span, coef, p.Grad.Span);
        }
        return total;
    }
}
