namespace Microsoft.ML.UFlow.Api.Data;

/// <summary>One row of a data view: a value per schema column. Rows handed out by transformers are immutable snapshots.</summary>
public sealed class DataRow
{
    private readonly object?[] _values;

    /// <summary>Creates a row; <paramref name="values"/> is owned by the row (one value per schema column, in order).</summary>
    public DataRow(DataSchema schema, object?[] values)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != schema.Count) throw new ArgumentException($"The row has {values.Length} values but the schema has {schema.Count} columns.", nameof(values));
        Schema = schema;
        _values = values;
    }

    /// <summary>The row's schema.</summary>
    public DataSchema Schema { get; }

    /// <summary>The value of the column at this index.</summary>
    public object? this[int index] => _values[index];

    /// <summary>The value of the named column, cast to <typeparamref name="T"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such column.</exception>
    /// <exception cref="InvalidCastException">The column does not hold values of type <typeparamref name="T"/> (the message names both).</exception>
    public T Get<T>(string column)
    {
        int i = Schema.IndexOf(column);
        if (i < 0) _ = Schema[column];
        object? v = _values[i];
        if (v is T t) return t;
        throw new InvalidCastException($"Column '{column}' holds {Schema[i].Type} values ({v?.GetType().Name ?? "null"}), not {typeof(T).Name}.");
    }

    /// <summary>Copies the values into a new array (for mappers that extend a row).</summary>
    internal object?[] CopyValues(int extra)
    {
        var copy = new object?[_values.Length + extra];
        Array.Copy(_values, copy, _values.Length);
        return copy;
    }
}
