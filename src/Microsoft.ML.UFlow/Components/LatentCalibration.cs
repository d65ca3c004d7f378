namespace Microsoft.ML.UFlow;

/// <summary>
/// How the latents the NFA segmentation reads are calibrated (METHOD.md A.7.8: log NFA &lt; 0 means about one false
/// detection per image only when mean z² ≈ 1 on normal images). The anomaly map and the image score never change (A.6).
/// </summary>
public enum LatentCalibration
{
    /// <summary>None: the NFA reads the flow's latents as they are (the paper's and the official code's way).</summary>
    None = 0,

    /// <summary>
    /// Per scale l, the NFA statistic X_l = Σ_c z² is divided by s_l, the mean z² of the exported flow on the held-out normal
    /// training images (the <c>Latents</c> column holds z_l / √s_l). Needs held-out images.
    /// </summary>
    HeldOutScale = 1,
}
