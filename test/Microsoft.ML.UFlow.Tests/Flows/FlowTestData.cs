using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Nn;

namespace Microsoft.ML.UFlow.Tests.Flows;

/// <summary>Perturbed (non-initial) parameters of the managed flow, and a float comparison, for its tests (inputs: <see cref="Training.TestFeatures"/>).</summary>
internal static class FlowTestData
{
    /// <summary>Moves the global scale/offset and LayerNorm affine away from their initial values so every term is exercised.</summary>
    public static void Perturb(UShapedFlow flow, SeededRandom random)
    {
        foreach (Parameter p in flow.Parameters)
        {
            Span<float> v = p.Value.Span;
            if (p.Name.EndsWith(".global_scale", StringComparison.Ordinal) || p.Name.EndsWith(".global_offset", StringComparison.Ordinal) || p.Name.StartsWith("layernorm", StringComparison.Ordinal))
            {
                for (int i = 0; i < v.Length; i++) v[i] += (float)(0.3 * random.NextGaussian());
            }
            else
            {
                // Larger subnet weights so the coupling is far from identity (tanh leaves its linear range).
                for (int i = 0; i < v.Length; i++) v[i] *= 3f;
            }
        }
    }

    public static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}
