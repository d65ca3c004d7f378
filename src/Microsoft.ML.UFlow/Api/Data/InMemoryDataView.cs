namespace Microsoft.ML.UFlow.Api.Data;

/// <summary>A data view over rows held in memory (the result of loading a file list, or of a cache checkpoint).</summary>
public sealed class InMemoryDataView : IDataView
{
    private readonly DataRow[] _rows;

    /// <summary>Creates the view; every value is checked against its column type.</summary>
    /// <exception cref="ArgumentException">A value does not match its column's type (names the row and column).</exception>
    public InMemoryDataView(DataSchema schema, IEnumerable<object?[]> rows)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(rows);
        Schema = schema;
        var list = new List<DataRow>();
        foreach (var values in rows)
        {
            if (values.Length != schema.Count) throw new ArgumentException($"Row {list.Count} has {values.Length} values but the schema has {schema.Count} columns.", nameof(rows));
            for (int c = 0; c < values.Length; c++)
            {
                if (!schema[c].Type.IsValidValue(values[c]))
                {
                    throw new ArgumentException($"Row {list.Count}, column '{schema[c].Name}': value {values[c]?.GetType().Name ?? "null"} is not a valid {schema[c].Type}.", nameof(rows));
                }
            }
            list.Add(new DataRow(schema, values));
        }
        _rows = list.ToArray();
    }

    internal InMemoryDataView(DataSchema schema, DataRow[] rows)
    {
        Schema = schema;
        _rows = rows;
    }

    /// <inheritdoc/>
    public DataSchema Schema { get; }

    /// <inheritdoc/>
    public long? GetRowCount() => _rows.Length;

    /// <inheritdoc/>
    public IEnumerable<DataRow> GetRows() => _rows;
}
