namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// Colour maps for anomaly heat maps. <see cref="Jet"/> is matplotlib's 'jet' (the one anomaly-detection papers
/// use): 256 entries interpolated piecewise-linearly from matplotlib's segment data.
/// </summary>
public sealed class ColorMap
{
    private readonly byte[] _rgb; // 256 × RGB

    private ColorMap(byte[] rgb) => _rgb = rgb;

    /// <summary>matplotlib's 'jet': dark blue → blue → cyan → yellow → red → dark red.</summary>
    public static ColorMap Jet { get; } = FromSegments(
        [(0, 0, 0), (0.35, 0, 0), (0.66, 1, 1), (0.89, 1, 1), (1, 0.5, 0.5)],
        [(0, 0, 0), (0.125, 0, 0), (0.375, 1, 1), (0.64, 1, 1), (0.91, 0, 0), (1, 0, 0)],
        [(0, 0.5, 0.5), (0.11, 1, 1), (0.34, 1, 1), (0.65, 0, 0), (1, 0, 0)]);

    /// <summary>The colour of lookup entry <paramref name="index"/> (0–255).</summary>
    public (byte R, byte G, byte B) this[int index] => (_rgb[3 * index], _rgb[3 * index + 1], _rgb[3 * index + 2]);

    /// <summary>
    /// Colours a W×H map of values (row-major): v is scaled to t = (v − min)/(max − min), clipped to [0, 1], and looked
    /// up at entry min(255, floor(256·t)) as matplotlib does. NaN maps to entry 0. When min and max are not given the
    /// map's own finite range is used. Returns an RGB image.
    /// </summary>
    public Image Apply(ReadOnlySpan<float> values, int width, int height, float? min = null, float? max = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (values.Length != width * height) throw new ArgumentException($"Map has {values.Length} values; {width}x{height} needs {width * height}.", nameof(values));
        float lo = min ?? float.PositiveInfinity, hi = max ?? float.NegativeInfinity;
        if (min is null || max is null)
        {
            foreach (float v in values)
            {
                if (!float.IsFinite(v)) continue;
                if (min is null && v < lo) lo = v;
                if (max is null && v > hi) hi = v;
            }
            if (!float.IsFinite(lo)) lo = 0;
            if (!float.IsFinite(hi)) hi = lo;
        }
        double range = hi - lo;
        double scale = range > 0 ? 256.0 / range : 0;
        var image = new Image(width, height, 3);
        Span<byte> px = image.Pixels;
        for (int i = 0; i < values.Length; i++)
        {
            double t = (values[i] - lo) * scale;
            int index = double.IsNaN(t) ? 0 : t <= 0 ? 0 : t >= 255 ? 255 : (int)t;
            px[3 * i] = _rgb[3 * index];
            px[3 * i + 1] = _rgb[3 * index + 1];
            px[3 * i + 2] = _rgb[3 * index + 2];
        }
        return image;
    }

    private static ColorMap FromSegments((double X, double Below, double Above)[] red, (double X, double Below, double Above)[] green, (double X, double Below, double Above)[] blue)
    {
        var rgb = new byte[3 * 256];
        var channels = new[] { red, green, blue };
        for (int i = 0; i < 256; i++)
        {
            double x = i / 255.0;
            for (int c = 0; c < 3; c++)
            {
                var seg = channels[c];
                int k = 1;
                while (k < seg.Length - 1 && seg[k].X < x) k++;
                double x0 = seg[k - 1].X, x1 = seg[k].X;
                double v = x1 > x0 ? seg[k - 1].Above + (x - x0) / (x1 - x0) * (seg[k].Below - seg[k - 1].Above) : seg[k].Below;
                rgb[3 * i + c] = (byte)Math.Clamp((int)(v * 255 + 0.5), 0, 255);
            }
        }
        return new ColorMap(rgb);
    }
}
