using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;

namespace Microsoft.ML.UFlow.Api;

/// <summary>
/// Base of transformers that compute new columns from the columns of the same row. Subclasses declare the columns they
/// read (checked at <c>GetOutputSchema</c>, <c>Fit</c> and <c>Transform</c>) and the columns they add (a column with the
/// same name as an input column replaces it), and map one row at a time; <see cref="Transform"/> is lazy.
/// </summary>
public abstract class RowToRowTransformer : ITransformer
{
    /// <summary>The component name used in errors and as the loader key in model files.</summary>
    public abstract string ComponentName { get; }

    /// <summary>Validates the input schema and returns the added columns (in order).</summary>
    /// <exception cref="SchemaMismatchException">An input column is missing or has the wrong type.</exception>
    protected abstract IReadOnlyList<SchemaColumn> GetAddedColumns(DataSchema inputSchema);

    /// <summary>
    /// Computes the added columns of one row. <paramref name="outputs"/> has one slot per added column, in the order of
    /// <see cref="GetAddedColumns"/>. Called concurrently only if the subclass says so; by default rows are mapped one at a time.
    /// </summary>
    protected abstract void MapRow(DataRow input, object?[] outputs);

    /// <summary>Writes the component's settings and weights (the header is written by the caller's context).</summary>
    protected abstract void SaveCore(ModelSaveContext context);

    /// <summary>The version information written in this component's header.</summary>
    protected abstract ComponentVersion Version { get; }

    /// <inheritdoc/>
    public DataSchema GetOutputSchema(DataSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return inputSchema.With(GetAddedColumns(inputSchema));
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var added = GetAddedColumns(input.Schema);
        return new MappedDataView(input, input.Schema.With(added), added, this);
    }

    /// <summary>Maps one row eagerly (used by the lazy view and by <see cref="PredictionEngine"/>).</summary>
    internal DataRow MapOne(DataRow input, DataSchema outputSchema, IReadOnlyList<SchemaColumn> added)
    {
        var outputs = new object?[added.Count];
        MapRow(input, outputs);
        var values = new object?[outputSchema.Count];
        for (int i = 0; i < input.Schema.Count; i++) values[i] = input[i];
        for (int j = 0; j < added.Count; j++) values[outputSchema.IndexOf(added[j].Name)] = outputs[j];
        return new DataRow(outputSchema, values);
    }

    /// <inheritdoc/>
    public void Save(ModelSaveContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.WriteHeader(ComponentName, Version);
        SaveCore(context);
    }

    private sealed class MappedDataView(IDataView source, DataSchema schema, IReadOnlyList<SchemaColumn> added, RowToRowTransformer mapper) : IDataView
    {
        public DataSchema Schema => schema;

        public long? GetRowCount() => source.GetRowCount();

        public IEnumerable<DataRow> GetRows()
        {
            foreach (var row in source.GetRows()) yield return mapper.MapOne(row, schema, added);
        }
    }
}
