namespace Microsoft.ML.UFlow.Scoring;

/// <summary>Image-level summary of one NFA segmentation.</summary>
public readonly record struct NfaImageResult
{
    /// <summary>The maximum of −log10 NFA over the output map (an image-level score; &gt; −log10 ε means detected).</summary>
    public float MaxNegativeLog10Nfa { get; init; }

    /// <summary>The number of output pixels in the detection mask.</summary>
    public int DetectedPixels { get; init; }

    /// <summary>True when at least one pixel is detected.</summary>
    public bool IsAnomalous => DetectedPixels > 0;
}
