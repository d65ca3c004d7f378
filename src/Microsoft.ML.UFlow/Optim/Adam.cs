using System.Runtime.Intrinsics;
using Microsoft.ML.UFlow.Nn;

namespace Microsoft.ML.UFlow.Optim;

/// <summary>
/// Adam with classic L2 weight decay, computed in float32 exactly as PyTorch 1.13's single-tensor implementation
/// (same operations in the same order and rounding):
/// g ← grad + wd·p; m ← β1·m + (1−β1)·g; v ← β2·v + ((1−β2)·g)·g;
/// p ← p + (−lr/(1−β1ᵗ))·m / (√v / √(1−β2ᵗ) + ε).
/// </summary>
/// <remarks>
/// The step is SIMD (Vector512 / Vector256 / scalar give identical results: every operation is IEEE-exact or a
/// fused multiply-add on all paths) and allocates nothing. The scalars are rounded to float as PyTorch does, and
/// the additions PyTorch's compiled kernels fuse (wd·p + grad, (1−β1)·g + β1·m, ((1−β2)·g)·g + β2·v) are fused here,
/// which makes the result bit-identical to PyTorch 1.13 on the checked-in golden fixture.
/// </remarks>
public sealed class Adam
{
    private readonly Parameter[] _parameters;
    private readonly float[][] _m;
    private readonly float[][] _v;

    /// <summary>Creates the optimiser over <paramref name="parameters"/>.</summary>
    public Adam(IEnumerable<Parameter> parameters, AdamOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
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

    /// <summary>The first-moment estimates, one array per parameter (for checkpoints).</summary>
    internal IReadOnlyList<float[]> FirstMoments => _m;

    /// <summary>The second-moment estimates, one array per parameter (for checkpoints).</summary>
    internal IReadOnlyList<float[]> SecondMoments => _v;

    /// <summary>Sets the step count of a restored state (the moments are restored into <see cref="FirstMoments"/> and <see cref="SecondMoments"/>).</summary>
    internal void RestoreStepCount(int steps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        StepCount = steps;
    }

    /// <summary>Sets all gradients to zero.</summary>
    public void ZeroGrad()
    {
        foreach (Parameter p in _parameters) p.ZeroGrad();
    }

    /// <summary>Applies one update from the accumulated gradients.</summary>
    public void Step()
    {
        StepCount++;
        double beta1 = Options.Beta1, beta2 = Options.Beta2;
        // PyTorch computes these in double (Python floats) and rounds each to float when it meets the tensor.
        var s = new Scalars(
            Beta1: (float)beta1,
            OneMinusBeta1: (float)(1 - beta1),
            Beta2: (float)beta2,
            OneMinusBeta2: (float)(1 - beta2),
            NegativeStepSize: (float)(-(Options.LearningRate / (1 - Math.Pow(beta1, StepCount)))),
            BiasCorrection2Sqrt: (float)Math.Sqrt(1 - Math.Pow(beta2, StepCount)),
            Epsilon: (float)Options.Epsilon,
            WeightDecay: (float)Options.WeightDecay);
        for (int i = 0; i < _parameters.Length; i++)
        {
            Parameter p = _parameters[i];
            if (p.Value.Length != _m[i].Length)
            {
                throw new InvalidOperationException($"Parameter '{p.Name}' changed size from {_m[i].Length} to {p.Value.Length} elements after the optimiser was created.");
            }
            Update(p.Value.Span, p.Grad.Span, _m[i], _v[i], s);
        }
    }

    private readonly record struct Scalars(float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2, float NegativeStepSize, float BiasCorrection2Sqrt, float Epsilon, float WeightDecay);

    private static void Update(Span<float> p, ReadOnlySpan<float> grad, Span<float> m, Span<float> v, Scalars s)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= p.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var pi = Vector512.Create(p.Slice(i, Vector512<float>.Count));
                var g = Vector512.Create(grad.Slice(i, Vector512<float>.Count));
                if (s.WeightDecay != 0f) g = Vector512.FusedMultiplyAdd(pi, Vector512.Create(s.WeightDecay), g);
                var mi = Vector512.FusedMultiplyAdd(g, Vector512.Create(s.OneMinusBeta1), Vector512.Create(m.Slice(i, Vector512<float>.Count)) * s.Beta1);
                var vi = Vector512.FusedMultiplyAdd(Vector512.Create(s.OneMinusBeta2) * g, g, Vector512.Create(v.Slice(i, Vector512<float>.Count)) * s.Beta2);
                var denom = Vector512.Sqrt(vi) / Vector512.Create(s.BiasCorrection2Sqrt) + Vector512.Create(s.Epsilon);
                pi += Vector512.Create(s.NegativeStepSize) * mi / denom;
                mi.CopyTo(m.Slice(i));
                vi.CopyTo(v.Slice(i));
                pi.CopyTo(p.Slice(i));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= p.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var pi = Vector256.Create(p.Slice(i, Vector256<float>.Count));
                var g = Vector256.Create(grad.Slice(i, Vector256<float>.Count));
                if (s.WeightDecay != 0f) g = Vector256.FusedMultiplyAdd(pi, Vector256.Create(s.WeightDecay), g);
                var mi = Vector256.FusedMultiplyAdd(g, Vector256.Create(s.OneMinusBeta1), Vector256.Create(m.Slice(i, Vector256<float>.Count)) * s.Beta1);
                var vi = Vector256.FusedMultiplyAdd(Vector256.Create(s.OneMinusBeta2) * g, g, Vector256.Create(v.Slice(i, Vector256<float>.Count)) * s.Beta2);
                var denom = Vector256.Sqrt(vi) / Vector256.Create(s.BiasCorrection2Sqrt) + Vector256.Create(s.Epsilon);
                pi += Vector256.Create(s.NegativeStepSize) * mi / denom;
                mi.CopyTo(m.Slice(i));
                vi.CopyTo(v.Slice(i));
                pi.CopyTo(p.Slice(i));
            }
        }
        for (; i < p.Length; i++)
        {
            float g = grad[i];
            if (s.WeightDecay != 0f) g = MathF.FusedMultiplyAdd(p[i], s.WeightDecay, g);
            float mi = MathF.FusedMultiplyAdd(g, s.OneMinusBeta1, m[i] * s.Beta1);
            float vi = MathF.FusedMultiplyAdd(s.OneMinusBeta2 * g, g, v[i] * s.Beta2);
            float denom = MathF.Sqrt(vi) / s.BiasCorrection2Sqrt + s.Epsilon;
            p[i] += s.NegativeStepSize * mi / denom;
            m[i] = mi;
            v[i] = vi;
        }
    }
}
