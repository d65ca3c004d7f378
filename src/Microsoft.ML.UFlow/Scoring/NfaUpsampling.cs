namespace Microsoft.ML.UFlow.Scoring;

/// <summary>How the per-scale log10 PFA maps are brought to the output size before the minimum over scales.</summary>
public enum NfaUpsampling
{
    /// <summary>Bilinear, PyTorch <c>align_corners=False</c> (the official default).</summary>
    Bilinear,

    /// <summary>Nearest neighbour, PyTorch <c>mode='nearest'</c> (source = ⌊dst·in/out⌋).</summary>
    Nearest,
}
