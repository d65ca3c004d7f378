using System.Collections;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;

namespace Microsoft.ML.UFlow.Api;

/// <summary>Fitted transformers applied in order (ML.NET's <c>TransformerChain</c>); saved as one component with a child per transformer.</summary>
/// <typeparam name="TLastTransformer">The type of the last transformer.</typeparam>
public sealed class TransformerChain<TLastTransformer> : ITransformer, IEnumerable<ITransformer>
    where TLastTransformer : class, ITransformer
{
    private readonly ITransformer[] _transformers;

    /// <summary>Creates a chain; the last transformer must be a <typeparamref name="TLastTransformer"/> (or the chain empty).</summary>
    public TransformerChain(params ITransformer[] transformers)
    {
        ArgumentNullException.ThrowIfNull(transformers);
        if (transformers.Length > 0 && transformers[^1] is not TLastTransformer)
        {
            throw new ArgumentException($"The last transformer is a {transformers[^1].GetType().Name}, not a {typeof(TLastTransformer).Name}.", nameof(transformers));
        }
        _transformers = (ITransformer[])transformers.Clone();
    }

    /// <summary>The last transformer (for example the scorer, to read its threshold), or null for an empty chain.</summary>
    public TLastTransformer? LastTransformer => _transformers.Length == 0 ? null : (TLastTransformer)_transformers[^1];

    /// <summary>The number of transformers.</summary>
    public int Count => _transformers.Length;

    /// <summary>Returns a new chain with <paramref name="transformer"/> appended.</summary>
    public TransformerChain<TNew> Append<TNew>(TNew transformer) where TNew : class, ITransformer => new([.. _transformers, transformer]);

    /// <summary>Returns a new chain in which the transformer at <paramref name="index"/> is replaced (used by <c>ChangeModelThreshold</c>).</summary>
    public TransformerChain<TLastTransformer> Replace(int index, ITransformer transformer)
    {
        var copy = (ITransformer[])_transformers.Clone();
        copy[index] = transformer;
        return new TransformerChain<TLastTransformer>(copy);
    }

    /// <inheritdoc/>
    public DataSchema GetOutputSchema(DataSchema inputSchema)
    {
        var schema = inputSchema;
        foreach (var t in _transformers) schema = t.GetOutputSchema(schema);
        return schema;
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        GetOutputSchema(input.Schema);
        var current = input;
        foreach (var t in _transformers) current = t.Transform(current);
        return current;
    }

    /// <inheritdoc/>
    public void Save(ModelSaveContext context) => TransformerChainPersistence.Save(context, _transformers);

    /// <inheritdoc/>
    public IEnumerator<ITransformer> GetEnumerator() => ((IEnumerable<ITransformer>)_transformers).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
