namespace Microsoft.ML.UFlow.Api.Persistence;

/// <summary>
/// Maps component names found in model headers to their loaders. Built-in components are listed explicitly here (no
/// reflection); other assemblies can add theirs with <see cref="Register"/>.
/// </summary>
public static class ComponentRegistry
{
    private static readonly Dictionary<string, Func<ModelLoadContext, ITransformer>> s_loaders = new(StringComparer.Ordinal);

    static ComponentRegistry()
    {
        foreach (var (name, loader) in BuiltInComponents.All) s_loaders[name] = loader;
    }

    /// <summary>Registers (or replaces) the loader of a component name.</summary>
    public static void Register(string component, Func<ModelLoadContext, ITransformer> loader)
    {
        ArgumentException.ThrowIfNullOrEmpty(component);
        ArgumentNullException.ThrowIfNull(loader);
        lock (s_loaders) s_loaders[component] = loader;
    }

    /// <summary>Loads the component whose folder <paramref name="context"/> points to.</summary>
    /// <exception cref="ModelFormatException">The component name is unknown.</exception>
    public static ITransformer Load(ModelLoadContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Func<ModelLoadContext, ITransformer>? loader;
        lock (s_loaders) s_loaders.TryGetValue(context.Header.Component, out loader);
        if (loader is null)
        {
            throw new ModelFormatException($"'{context.FilePath}', entry '{context.Folder}': unknown component '{context.Header.Component}' (written by a newer version of the library, or by an extension that is not loaded).");
        }
        return loader(context);
    }
}
