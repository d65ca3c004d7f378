using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;

namespace Microsoft.ML.UFlow.Api;

/// <summary>
/// A fitted component that maps a data view to a new one lazily (ML.NET's <c>ITransformer</c>). Every transformer can be
/// saved into a model file (<see cref="Save"/>) and is re-created from it by <see cref="ModelCatalog.Load(string, out DataSchema)"/>.
/// </summary>
public interface ITransformer
{
    /// <summary>The schema <see cref="Transform"/> produces for an input of this schema.</summary>
    /// <exception cref="SchemaMismatchException">An input column is missing or has the wrong type.</exception>
    DataSchema GetOutputSchema(DataSchema inputSchema);

    /// <summary>Returns a lazy view of the transformed data; the schema is checked now, the rows are computed when read.</summary>
    /// <exception cref="SchemaMismatchException">An input column is missing or has the wrong type.</exception>
    IDataView Transform(IDataView input);

    /// <summary>Writes this transformer (header, settings, weights) into its own entry folder of a model file.</summary>
    void Save(ModelSaveContext context);
}
