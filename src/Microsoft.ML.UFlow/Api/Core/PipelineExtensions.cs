namespace Microsoft.ML.UFlow.Api;

/// <summary><c>Append</c> for single estimators and transformers, as ML.NET's <c>LearningPipelineExtensions</c>.</summary>
public static class PipelineExtensions
{
    /// <summary>Starts a chain: <paramref name="start"/> then <paramref name="next"/>.</summary>
    public static EstimatorChain<TNext> Append<TStart, TNext>(this IEstimator<TStart> start, IEstimator<TNext> next)
        where TStart : class, ITransformer where TNext : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(next);
        return new EstimatorChain<TNext>([start, next]);
    }

    /// <summary>Starts a transformer chain: <paramref name="start"/> then <paramref name="next"/>.</summary>
    public static TransformerChain<TNext> Append<TNext>(this ITransformer start, TNext next) where TNext : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(next);
        return new TransformerChain<TNext>(start, next);
    }
}
