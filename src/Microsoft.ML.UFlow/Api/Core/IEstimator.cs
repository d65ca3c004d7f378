using Microsoft.ML.UFlow.Api.Data;

namespace Microsoft.ML.UFlow.Api;

/// <summary>An unfitted component whose <see cref="Fit"/> learns from data and returns a transformer (ML.NET's <c>IEstimator</c>).</summary>
/// <typeparam name="TTransformer">The transformer produced.</typeparam>
public interface IEstimator<out TTransformer> where TTransformer : ITransformer
{
    /// <summary>Learns from <paramref name="input"/> (the schema is checked first) and returns the fitted transformer.</summary>
    /// <exception cref="SchemaMismatchException">An input column is missing or has the wrong type.</exception>
    TTransformer Fit(IDataView input);

    /// <summary>The schema the fitted transformer will produce, computed without fitting (validates the input schema).</summary>
    /// <exception cref="SchemaMismatchException">An input column is missing or has the wrong type.</exception>
    DataSchema GetOutputSchema(DataSchema inputSchema);
}
