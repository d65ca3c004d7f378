namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>
/// CS-Flow's soft clamp of the log-scale, σ(h) = α · 0.636 · atan(h / α) (METHOD.md C.2). The official code uses the
/// literal 0.636 (the paper writes 2/π ≈ 0.63662); the literal is kept so that log-densities match the reference code.
/// </summary>
public static class CsFlowSoftClamp
{
    /// <summary>The constant the official code uses in place of 2/π.</summary>
    public const float TwoOverPi = 0.636f;

    /// <summary>The default clamp α = 3.</summary>
    public const float DefaultAlpha = 3f;

    /// <summary>σ(h) = α · 0.636 · atan(h / α).</summary>
    public static float Apply(float h, float alpha) => alpha * TwoOverPi * MathF.Atan(h / alpha);

    /// <summary>dσ/dh = 0.636 / (1 + (h/α)²).</summary>
    public static float Derivative(float h, float alpha)
    {
        float u = h / alpha;
        return TwoOverPi / (1f + u * u);
    }
}
