namespace Microsoft.ML.UFlow.Api;

/// <summary>Image and feature transforms (ML.NET's <c>TransformsCatalog</c>).</summary>
public sealed partial class TransformsCatalog
{
    internal TransformsCatalog(UFlowContext context) => Context = context;

    internal UFlowContext Context { get; }
}
