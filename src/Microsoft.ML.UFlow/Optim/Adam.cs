using Microsoft.ML.UFlow.Nn;

namespace Microsoft.ML.UFlow.Optim;

/// <summary>
/// Adam with classic L2 weight decay, computed exactly as PyTorch 1.13's single-tensor implementation:
/// g ← grad + wd·p; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − (lr/(1−β1ᵗ))·m / (√v/√(1−β2ᵗ) + ε).
/// </summary>
public sealed class Adam
{
    private readonly Parameter[] _parameters;
    private readonly float[][] _m;
    private readonly float[][] _v;

    /// <summary>Creates the optimiser over <paramref name="parameters"/>.</summary>
    public Adam(IEnumerable<Parameter> parameters, AdamOptions? options = null)
    {
        _parameters = parameters.ToArray();
        Options = options ?? new AdamOptions();
        _m = _parameters.Select(p => new float[p.Value.Length]).ToArray();
        _v = _parameters.Select(p => new float[p.Value.Length]).ToArray();
    }

    /// <summary>The settings; <see cref="AdamOptions.LearningRate"/> may be changed between steps by a schedule.</summary>
    public AdamOptions Options { get; }

    /// <summary>Number of steps taken.</summary>
    public int StepCount { get; private set; }

    /// <summary>The parameters being optimised.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Sets all gradients to zero.</summary>
    public void ZeroGrad()
    {
        foreach (Parameter p in _parameters) p.ZeroGrad();
    }

    /// <summary>Applies one update from the accumulated gradients.</summary>
    public void Step()
    {
        StepCount++;
        float beta1 = (float)Options.Beta1, beta2 = (float)Options.Beta2, eps = (float)Options.Epsilon, wd = (float)Options.WeightDecay;
        double bias1 = 1 - Math.Pow(Options.Beta1, StepCount);
        double bias2 = 1 - Math.Pow(Options.Beta2, StepCount);
        float stepSize = (float)(Options.LearningRate / bias1);
        float bias2Sqrt = (float)Math.Sqrt(bias2);
        Parallel.For(0, _parameters.Length, i =>
        {
            Span<float> p = _parameters[i].Value.Span;
            ReadOnlySpan<float> grad = _parameters[i].Grad.Span;
            Span<float> m = _m[i], v = _v[i];
            for (int j = 0; j < p.Length; j++)
            {
                float g = wd != 0f ? grad[j] + wd * p[j] : grad[j];
                m[j] = m[j] * beta1 + (1f - beta1) * g;
                v[j] = v[j] * beta2 + (1f - beta2) * g * g;
                float denom = MathF.Sqrt(v[j]) / bias2Sqrt + eps;
                p[j] -= stepSize * (m[j] / denom);
            }
        });
    }
}
