using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow;

/// <summary>
/// The NFA segmentation's settings as a small vector column (<see cref="ColumnName"/>), so that the stateless
/// <see cref="NfaSegmentationMapping"/> finds them in every row, before and after a model is saved.
/// </summary>
internal readonly record struct NfaSegmentationSettings(int OutputSize, NfaUpsampling Upsampling, bool UnderDispersionGuard, double FalseAlarmsPerImage)
{
    public const string ColumnName = "LogNfa.Settings";

    // Layout version first, so that a later layout can still read this one.
    private const float Layout = 1f;

    public static NfaSegmentationSettings From(NfaSegmentationOptions options) =>
        new(options.OutputSize, options.Upsampling, options.UnderDispersionGuard, options.FalseAlarmsPerImage);

    public NfaSegmentationOptions ToOptions() => new()
    {
        OutputSize = OutputSize,
        Upsampling = Upsampling,
        UnderDispersionGuard = UnderDispersionGuard,
        FalseAlarmsPerImage = FalseAlarmsPerImage,
    };

    public float[] ToVector() =>
        [Layout, OutputSize, (float)Upsampling, UnderDispersionGuard ? 1f : 0f, (float)Math.Log10(FalseAlarmsPerImage)];

    public static NfaSegmentationSettings FromVector(float[] vector)
    {
        if (vector.Length != 5 || vector[0] != Layout)
            throw new InvalidOperationException($"Column '{ColumnName}' holds [{string.Join(", ", vector)}], not NFA settings of layout {Layout}: the model was made by another version of Microsoft.ML.UFlow.");
        var settings = new NfaSegmentationSettings((int)vector[1], (NfaUpsampling)(int)vector[2], vector[3] != 0, Math.Pow(10, vector[4]));
        settings.ToOptions().Validate();
        return settings;
    }
}
