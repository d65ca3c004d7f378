namespace Microsoft.ML.UFlow.Api.Persistence;

/// <summary>The loaders of every component of this library, by component name.</summary>
internal static class BuiltInComponents
{
    public static IEnumerable<(string Name, Func<ModelLoadContext, ITransformer> Loader)> All =>
    [
        (TransformerChainPersistence.Name, TransformerChainPersistence.Load),
    ];
}
