using SkiaSharp;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// Colour maps for anomaly heat maps. <see cref="Jet"/> is matplotlib's 'jet' (the one anomaly-detection papers
/// use): 256 entries interpolated piecewise-linearly from matplotlib's segment data.
/// </summary>
public sealed class ColorMap
{
    private readonly byte[] _red, _green, _blue; // 256 entries each

    private ColorMap(byte[] red, byte[] green, byte[] blue) => (_red, _green, _blue) = (red, green, blue);

    /// <summary>matplotlib's 'jet': dark blue → blue → cyan → yellow → red → dark red.</summary>
    public static ColorMap Jet { get; } = FromSegments(
        [(0, 0, 0), (0.35, 0, 0), (0.66, 1, 1), (0.89, 1, 1), (1, 0.5, 0.5)],
        [(0, 0, 0), (0.125, 0, 0), (0.375, 1, 1), (0.64, 1, 1), (0.91, 0, 0), (1, 0, 0)],
        [(0, 0.5, 0.5), (0.11, 1, 1), (0.34, 1, 1), (0.65, 0, 0), (1, 0, 0)]);

    /// <summary>The colour of lookup entry <paramref name="index"/> (0–255).</summary>
    public (byte R, byte G, byte B) this[int index] => (_red[index], _green[index], _blue[index]);

    /// <summary>
    /// A SkiaSharp colour filter that turns grey level i (R = G = B = i) into entry i: each channel goes through its
    /// 256-entry table, alpha is kept. The caller disposes it.
    /// </summary>
    public SKColorFilter CreateColorFilter()
    {
        var identity = new byte[256];
        for (int i = 0; i < identity.Length; i++) identity[i] = (byte)i;
        return SKColorFilter.CreateTable(identity, _red, _green, _blue);
    }

    private static ColorMap FromSegments((double X, double Below, double Above)[] red, (double X, double Below, double Above)[] green, (double X, double Below, double Above)[] blue)
    {
        var channels = new[] { red, green, blue };
        var tables = new[] { new byte[256], new byte[256], new byte[256] };
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
                tables[c][i] = (byte)Math.Clamp((int)(v * 255 + 0.5), 0, 255);
            }
        }
        return new ColorMap(tables[0], tables[1], tables[2]);
    }
}
