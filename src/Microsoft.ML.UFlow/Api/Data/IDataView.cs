namespace Microsoft.ML.UFlow.Api.Data;

/// <summary>
/// A lazy, read-only, column-oriented table (the shape of ML.NET's <c>IDataView</c>): a schema and a row sequence that is
/// computed on each enumeration. Views are cheap to create; work happens only when rows are read.
/// </summary>
public interface IDataView
{
    /// <summary>The columns of every row.</summary>
    DataSchema Schema { get; }

    /// <summary>The number of rows when it is known without reading them, otherwise null.</summary>
    long? GetRowCount();

    /// <summary>Enumerates the rows, computing them lazily.</summary>
    IEnumerable<DataRow> GetRows();
}
