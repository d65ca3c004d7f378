namespace Microsoft.ML.UFlow.Api.Data;

/// <summary>One column of a <see cref="DataSchema"/>: its name and type.</summary>
/// <param name="Name">The column name (case-sensitive, as in ML.NET).</param>
/// <param name="Type">The column type.</param>
public sealed record SchemaColumn(string Name, ColumnType Type)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Type}";
}
