using Microsoft.ML.Data;

namespace Microsoft.ML.UFlow;

/// <summary>
/// The base of every fitted component: underneath, a stock ML.NET transformer (an <c>OnnxTransformer</c>, a
/// <c>CustomMapping</c>, or a chain of them) that does the work and is what gets saved (DESIGN.md §3). ML.NET keeps its
/// loader registration internal, so a model file holds only stock components and loads in any ML.NET program; after
/// loading, the stock transformer stands where this wrapper stood, with the same outputs.
/// </summary>
/// <remarks>Disposing the wrapper disposes the inner transformer (an <c>OnnxTransformer</c> holds a native session).</remarks>
public abstract class StockTransformerWrapper : ITransformer, IDisposable
{
    private bool _disposed;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected StockTransformerWrapper(ITransformer inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Inner = inner;
    }

    /// <summary>The stock transformer that does the work and is saved.</summary>
    public ITransformer Inner { get; }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => Inner.IsRowToRowMapper;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckInput(inputSchema);
        return Inner.GetOutputSchema(inputSchema);
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        CheckInput(inputSchema);
        return Inner.GetRowToRowMapper(inputSchema);
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(input);
        CheckInput(input.Schema);
        return Inner.Transform(input);
    }

    /// <summary>Refuses an input the inner transformer would fail on with a less helpful message (default: accepts all).</summary>
    private protected virtual void CheckInput(DataViewSchema inputSchema)
    {
    }

    /// <summary>Saves the inner stock transformer: the model file holds nothing of this library's own.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => Inner.Save(ctx);

    /// <summary>Disposes the inner transformer (idempotent).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the inner transformer when <paramref name="disposing"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing) DisposeTransformer(Inner);
    }

    /// <summary>Disposes a transformer and, for a chain, every member.</summary>
    internal static void DisposeTransformer(ITransformer transformer)
    {
        if (transformer is IEnumerable<ITransformer> chain)
        {
            foreach (var t in chain) DisposeTransformer(t);
        }
        (transformer as IDisposable)?.Dispose();
    }
}
