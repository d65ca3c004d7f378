namespace Microsoft.ML.UFlow.Api.Persistence;

/// <summary>Saves and loads <see cref="TransformerChain{TLastTransformer}"/>: a header, the child count, one sub-folder per child.</summary>
internal static class TransformerChainPersistence
{
    public const string Name = "TransformerChain";
    public static readonly ComponentVersion Version = new("UFLOWCHN", 1, 1);

    private sealed class Settings
    {
        public List<string> Children { get; set; } = [];
    }

    public static void Save(ModelSaveContext context, IReadOnlyList<ITransformer> transformers)
    {
        context.WriteHeader(Name, Version);
        var settings = new Settings();
        for (int i = 0; i < transformers.Count; i++)
        {
            string child = $"{i:D2}_{ChildName(transformers[i])}";
            settings.Children.Add(child);
            transformers[i].Save(context.CreateChild(child));
        }
        context.WriteJson("chain.json", settings);
    }

    public static ITransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(Name, Version);
        var settings = context.ReadJson<Settings>("chain.json");
        var children = settings.Children.Select(context.LoadChild).ToArray();
        return new TransformerChain<ITransformer>(children);
    }

    private static string ChildName(ITransformer t) => t is RowToRowTransformer r ? r.ComponentName : t.GetType().Name.Split('`')[0];
}
