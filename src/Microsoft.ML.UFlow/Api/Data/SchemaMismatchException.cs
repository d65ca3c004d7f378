namespace Microsoft.ML.UFlow.Api.Data;

/// <summary>
/// Thrown at <c>Fit</c>, <c>GetOutputSchema</c> or <c>Transform</c> when an input column is missing or has the wrong type
/// (ML.NET throws an <see cref="ArgumentOutOfRangeException"/> with a similar message; this type carries the details).
/// </summary>
public sealed class SchemaMismatchException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public SchemaMismatchException(string component, string columnName, ColumnType expected, ColumnType? actual, string message)
        : base(message, columnName)
    {
        Component = component;
        ColumnName = columnName;
        ExpectedType = expected;
        ActualType = actual;
    }

    /// <summary>The component that rejected the input.</summary>
    public string Component { get; }

    /// <summary>The offending column.</summary>
    public string ColumnName { get; }

    /// <summary>The type the component needs.</summary>
    public ColumnType ExpectedType { get; }

    /// <summary>The column's actual type, or null when the column is missing.</summary>
    public ColumnType? ActualType { get; }
}
