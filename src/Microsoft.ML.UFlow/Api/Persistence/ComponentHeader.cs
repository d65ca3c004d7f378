namespace Microsoft.ML.UFlow.Api.Persistence;

/// <summary>The header stored as <c>header.json</c> in every component folder of a model file.</summary>
public sealed class ComponentHeader
{
    /// <summary>The component (loader) name, for example <c>ResizeImages</c>.</summary>
    public string Component { get; set; } = "";

    /// <summary>The entry format signature.</summary>
    public string Signature { get; set; } = "";

    /// <summary>The version that wrote the entry.</summary>
    public int Version { get; set; }

    /// <summary>The oldest reader version able to read it.</summary>
    public int MinReadableVersion { get; set; }

    /// <summary>The library version that wrote the file (informative).</summary>
    public string WrittenBy { get; set; } = "";
}
