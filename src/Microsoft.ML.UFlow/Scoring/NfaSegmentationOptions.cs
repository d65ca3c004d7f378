namespace Microsoft.ML.UFlow.Scoring;

/// <summary>
/// Options of the a-contrario NFA segmentation (METHOD.md A.7). The defaults reproduce the official U-Flow code:
/// 256×256 output, bilinear upsampling, no under-dispersion guard, detection where log10 NFA &lt; 0.
/// </summary>
public sealed class NfaSegmentationOptions
{
    /// <summary>Side S of the output map (default 256, the official evaluation size): S×S for square latents, else the shorter side (<see cref="MapGrid"/>).</summary>
    public int OutputSize { get; set; } = 256;

    /// <summary>Upsampling of the per-scale maps (default <see cref="NfaUpsampling.Bilinear"/>).</summary>
    public NfaUpsampling Upsampling { get; set; } = NfaUpsampling.Bilinear;

    /// <summary>
    /// Opt-in deviation from the official code (default <c>false</c>): when true, the Chernoff log-bound of a region
    /// whose minimum statistic is not above the mean (u = x/C ≤ 1) is set to 0, so under-dispersed latents are never
    /// reported. The official code applies the expression for every u (METHOD.md A.7.3 and A.7.8).
    /// </summary>
    public bool UnderDispersionGuard { get; set; }

    /// <summary>
    /// False-alarm budget ε: the expected number of false detections per image under H0 that the user accepts
    /// (default 1, i.e. the official rule log10 NFA &lt; 0). A pixel is detected where log10 NFA &lt; log10 ε;
    /// for example 0.001 allows one false detection per 1,000 images.
    /// </summary>
    public double FalseAlarmsPerImage { get; set; } = 1.0;

    /// <summary>A copy of these options.</summary>
    public NfaSegmentationOptions Clone() => (NfaSegmentationOptions)MemberwiseClone();

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (OutputSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(OutputSize), OutputSize, "The NFA output size must be positive.");
        }
        if (!Enum.IsDefined(Upsampling))
        {
            throw new ArgumentOutOfRangeException(nameof(Upsampling), Upsampling, "Unknown upsampling mode.");
        }
        if (!(FalseAlarmsPerImage > 0) || double.IsPositiveInfinity(FalseAlarmsPerImage))
        {
            throw new ArgumentOutOfRangeException(nameof(FalseAlarmsPerImage), FalseAlarmsPerImage,
                "The false-alarm budget ε must be a finite number > 0 (expected false detections per image).");
        }
    }
}
