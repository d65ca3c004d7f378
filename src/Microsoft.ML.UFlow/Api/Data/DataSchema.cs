using System.Collections;

namespace Microsoft.ML.UFlow.Api.Data;

/// <summary>
/// The ordered columns of a data view. Immutable; <see cref="With"/> returns a new schema in which a column of the
/// same name is replaced (hidden) rather than duplicated.
/// </summary>
public sealed class DataSchema : IReadOnlyList<SchemaColumn>, IEquatable<DataSchema>
{
    private readonly SchemaColumn[] _columns;

    /// <summary>Creates a schema from columns whose names must be distinct.</summary>
    /// <exception cref="ArgumentException">Two columns have the same name.</exception>
    public DataSchema(IEnumerable<SchemaColumn> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        _columns = columns.ToArray();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in _columns)
        {
            if (!seen.Add(c.Name)) throw new ArgumentException($"Duplicate column name '{c.Name}'.", nameof(columns));
        }
    }

    /// <summary>An empty schema.</summary>
    public static DataSchema Empty { get; } = new([]);

    /// <inheritdoc/>
    public int Count => _columns.Length;

    /// <inheritdoc/>
    public SchemaColumn this[int index] => _columns[index];

    /// <summary>The column with this name.</summary>
    /// <exception cref="KeyNotFoundException">No such column (the message lists the available ones).</exception>
    public SchemaColumn this[string name] => TryGet(name, out var c) ? c : throw new KeyNotFoundException(MissingMessage(name, null));

    /// <summary>The index of the column with this name, or -1.</summary>
    public int IndexOf(string name) => Array.FindIndex(_columns, c => c.Name == name);

    /// <summary>Looks up a column by name.</summary>
    public bool TryGet(string name, out SchemaColumn column)
    {
        int i = IndexOf(name);
        column = i >= 0 ? _columns[i] : null!;
        return i >= 0;
    }

    /// <summary>Returns a schema with these columns added; an existing column of the same name is replaced in place.</summary>
    public DataSchema With(params IEnumerable<SchemaColumn> added)
    {
        var list = _columns.ToList();
        foreach (var c in added)
        {
            int i = list.FindIndex(x => x.Name == c.Name);
            if (i >= 0) list[i] = c; else list.Add(c);
        }
        return new DataSchema(list);
    }

    /// <summary>
    /// Checks that column <paramref name="name"/> exists and that its type is accepted by <paramref name="expected"/>.
    /// </summary>
    /// <param name="name">The input column the component reads.</param>
    /// <param name="expected">The type the component needs.</param>
    /// <param name="component">The component that checks (named in the error).</param>
    /// <exception cref="SchemaMismatchException">The column is missing or has another type; the message names the column, the expected and the actual type.</exception>
    /// <param name="acceptAnyScaleCount">For feature-maps types: accept any number of scales.</param>
    public SchemaColumn Require(string name, ColumnType expected, string component, bool acceptAnyScaleCount = false)
    {
        if (!TryGet(name, out var column))
        {
            throw new SchemaMismatchException(component, name, expected, null, MissingMessage(name, component) + $" Expected type: {expected}.");
        }
        bool ok = acceptAnyScaleCount && expected is FeatureMapsColumnType ? column.Type is FeatureMapsColumnType : expected.Accepts(column.Type);
        if (!ok)
        {
            throw new SchemaMismatchException(component, name, expected, column.Type,
                $"{component}: input column '{name}' has type {column.Type}, but {(acceptAnyScaleCount && expected is FeatureMapsColumnType ? "FeatureMaps[*]" : expected.ToString())} is expected.");
        }
        return column;
    }

    private string MissingMessage(string name, string? component)
        => $"{(component is null ? "" : component + ": ")}input column '{name}' not found; available columns: {(Count == 0 ? "(none)" : string.Join(", ", _columns.Select(c => $"{c.Name} ({c.Type})")))}.";

    /// <inheritdoc/>
    public IEnumerator<SchemaColumn> GetEnumerator() => ((IEnumerable<SchemaColumn>)_columns).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public bool Equals(DataSchema? other) => other is not null && _columns.SequenceEqual(other._columns);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DataSchema s && Equals(s);

    /// <inheritdoc/>
    public override int GetHashCode() => _columns.Length == 0 ? 0 : _columns[0].GetHashCode() ^ _columns.Length;

    /// <inheritdoc/>
    public override string ToString() => "{" + string.Join(", ", _columns.Select(c => c.ToString())) + "}";
}
