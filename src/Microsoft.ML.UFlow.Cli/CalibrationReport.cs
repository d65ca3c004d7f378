using System.Globalization;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>
/// How far a U-Flow model is from calibrated latents (METHOD.md A.7.8), as 'uflow train' and 'uflow eval' print it: the
/// NFA threshold log NFA &lt; 0 means about one false detection per image only when the normal images' mean z² per scale
/// is about 1.
/// </summary>
internal static class CalibrationReport
{
    /// <summary>An uncalibrated model is warned about when a scale's held-out mean z² is outside this range.</summary>
    public const double LowMeanSquare = 0.9, HighMeanSquare = 1.1;

    /// <summary>A calibrated model is warned about when a divisor is outside this range: the flow's density is degenerate.</summary>
    public const double LowDivisor = 0.5, HighDivisor = 2.0;

    /// <summary>The warnings for a model with these held-out facts (none when it is close to calibrated).</summary>
    /// <param name="heldOut">The held-out evaluation of the model's flow.</param>
    /// <param name="calibration">The calibration applied to the NFA's latents.</param>
    /// <param name="divisors">The divisors applied (with a calibration), or null.</param>
    public static IEnumerable<string> Warnings(HeldOutEvaluation heldOut, LatentCalibration calibration, IReadOnlyList<double>? divisors)
    {
        if (calibration == LatentCalibration.None)
        {
            var off = heldOut.MeanSquarePerScale.Select((v, l) => (v, l)).Where(e => !(e.v >= LowMeanSquare && e.v <= HighMeanSquare)).ToList();
            if (off.Count > 0)
            {
                yield return $"warning: the model is far from calibrated: the held-out normal images' mean z² is {string.Join(", ", off.Select(e => $"{Number(e.v)} at scale {e.l + 1}"))} " +
                             $"(calibrated: about 1, here outside [{Number(LowMeanSquare)}, {Number(HighMeanSquare)}]), so log NFA < 0 does not mean about one false detection per image " +
                             "(METHOD.md A.7.8); train with --calibration held-out to calibrate the NFA.";
            }
        }
        else if (divisors is not null)
        {
            var off = divisors.Select((v, l) => (v, l)).Where(e => !(e.v >= LowDivisor && e.v <= HighDivisor)).ToList();
            if (off.Count > 0)
            {
                yield return $"warning: the NFA calibration divides by {string.Join(", ", off.Select(e => $"{Number(e.v)} at scale {e.l + 1}"))} (outside [{Number(LowDivisor)}, {Number(HighDivisor)}]): " +
                             "the flow's density on normal images is degenerate (far too wide or too narrow), so its calibrated NFA is not trustworthy either; try fewer epochs, early stopping (--patience) or other features.";
            }
        }
    }

    /// <summary>A number as printed (at most 4 decimals, invariant culture).</summary>
    public static string Number(double value) => double.IsNaN(value) ? "nan" : value.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>Per-scale values separated by slashes, finest first.</summary>
    public static string List(IEnumerable<double> values) => string.Join("/", values.Select(v => v.ToString("0.###", CultureInfo.InvariantCulture)));
}
