namespace Microsoft.ML.UFlow;

/// <summary>Schema errors worded as ML.NET's own ("Schema mismatch for input column 'X': expected …, got …").</summary>
internal static class SchemaErrors
{
    public static ArgumentOutOfRangeException Missing(string column, string expected) =>
        new(nameof(column), $"Could not find input column '{column}' ({expected}).");

    public static ArgumentOutOfRangeException Mismatch(string column, string expected, string actual) =>
        new(nameof(column), $"Schema mismatch for input column '{column}': expected {expected}, got {actual}.");
}
