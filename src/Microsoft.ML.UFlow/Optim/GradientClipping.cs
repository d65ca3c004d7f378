using Microsoft.ML.UFlow.Nn;

namespace Microsoft.ML.UFlow.Optim;

/// <summary>Gradient-norm clipping as <c>torch.nn.utils.clip_grad_norm_</c> (L2 norm over all gradients).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales all gradients by maxNorm/(total + 1e-6) when the total L2 norm exceeds <paramref name="maxNorm"/>.
    /// Returns the total norm before clipping (NaN or ∞ if a gradient is not finite).
    /// </summary>
    public static double ClipGradNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        Parameter[] ps = parameters.ToArray();
        double sumSquares = 0;
        foreach (Parameter p in ps)
        {
            double n = TensorPrimitives.Norm(p.Grad.Span);
            sumSquares += n * n;
        }
        double total = Math.Sqrt(sumSquares);
        double coef = maxNorm / (total + 1e-6);
        if (coef < 1)
        {
            foreach (Parameter p in ps) TensorPrimitives.Multiply(p.Grad.Span, (float)coef, p.Grad.Span);
        }
        return total;
    }
}
