namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>Constants of the CS-Flow model file (a small versioned header, then little-endian float32 weights).</summary>
internal static class CsFlowModelFormat
{
    /// <summary>The file signature.</summary>
    public const string Signature = "UFLOW.CSFLOW";

    /// <summary>The version this code writes.</summary>
    public const int WrittenVersion = 1;

    /// <summary>The oldest reader version able to read what this code writes.</summary>
    public const int MinimumReaderVersion = 1;

    /// <summary>The newest version this code can read.</summary>
    public const int ReadableVersion = 1;

    /// <summary>Marks the end of the weights, to catch truncated files.</summary>
    public const string EndMarker = "END.CSFLOW";
}
