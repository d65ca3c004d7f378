using Microsoft.ML.UFlow.Api.Data;

namespace Microsoft.ML.UFlow.Api;

/// <summary>A sequence of estimators fitted one after the other, each on the (lazily) transformed output of the previous ones.</summary>
/// <typeparam name="TLastTransformer">The transformer type of the last estimator.</typeparam>
public sealed class EstimatorChain<TLastTransformer> : IEstimator<TransformerChain<TLastTransformer>>
    where TLastTransformer : class, ITransformer
{
    private readonly IEstimator<ITransformer>[] _estimators;

    internal EstimatorChain(IEstimator<ITransformer>[] estimators) => _estimators = estimators;

    /// <summary>The estimators, in order.</summary>
    public IReadOnlyList<IEstimator<ITransformer>> Estimators => _estimators;

    /// <summary>Returns a new chain with <paramref name="estimator"/> appended.</summary>
    public EstimatorChain<TNew> Append<TNew>(IEstimator<TNew> estimator) where TNew : class, ITransformer
        => new([.. _estimators, estimator]);

    /// <inheritdoc/>
    public DataSchema GetOutputSchema(DataSchema inputSchema)
    {
        var schema = inputSchema;
        foreach (var e in _estimators) schema = e.GetOutputSchema(schema);
        return schema;
    }

    /// <inheritdoc/>
    public TransformerChain<TLastTransformer> Fit(IDataView input)
    {
        GetOutputSchema(input.Schema); // fail before any expensive fitting
        var fitted = new List<ITransformer>();
        var current = input;
        foreach (var e in _estimators)
        {
            var t = e.Fit(current);
            fitted.Add(t);
            current = t.Transform(current);
        }
        return new TransformerChain<TLastTransformer>(fitted.ToArray());
    }
}
