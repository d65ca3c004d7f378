using Microsoft.ML.UFlow.Api.Data;

namespace Microsoft.ML.UFlow.Api;

/// <summary>An estimator whose transformer needs no training (image loading, resizing, featurizing): <c>Fit</c> checks the schema and returns it.</summary>
/// <typeparam name="TTransformer">The transformer returned by <see cref="Fit"/>.</typeparam>
public sealed class TrivialEstimator<TTransformer> : IEstimator<TTransformer> where TTransformer : class, ITransformer
{
    /// <summary>Wraps an already configured transformer.</summary>
    public TrivialEstimator(TTransformer transformer) => Transformer = transformer ?? throw new ArgumentNullException(nameof(transformer));

    /// <summary>The transformer that <see cref="Fit"/> returns.</summary>
    public TTransformer Transformer { get; }

    /// <inheritdoc/>
    public TTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Transformer.GetOutputSchema(input.Schema);
        return Transformer;
    }

    /// <inheritdoc/>
    public DataSchema GetOutputSchema(DataSchema inputSchema) => Transformer.GetOutputSchema(inputSchema);
}
