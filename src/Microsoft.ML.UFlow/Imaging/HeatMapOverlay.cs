using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>Visual-report helpers: alpha blending of a coloured heat map over an image.</summary>
public static class HeatMapOverlay
{
    /// <summary>
    /// Blends <paramref name="overlay"/> over <paramref name="image"/> (both shown as RGB, same size):
    /// out = round((1 − α)·image + α·overlay) per channel.
    /// </summary>
    public static Image Blend(Image image, Image overlay, float alpha)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(overlay);
        if (image.Width != overlay.Width || image.Height != overlay.Height)
        {
            throw new ArgumentException($"Overlay is {overlay.Width}x{overlay.Height} but the image is {image.Width}x{image.Height}.", nameof(overlay));
        }
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "Alpha must be in [0, 1].");
        Image a = image.ToRgb(), b = overlay.ToRgb();
        var result = new Image(a.Width, a.Height, 3);
        int wb = (int)MathF.Round(alpha * 256), wa = 256 - wb;
        ReadOnlySpan<byte> pa = a.Pixels, pb = b.Pixels;
        Span<byte> o = result.Pixels;
        for (int i = 0; i < o.Length; i++) o[i] = (byte)((pa[i] * wa + pb[i] * wb + 128) >> 8);
        return result;
    }

    /// <summary>
    /// Colours a score map (H×W floats, any resolution) with <paramref name="colorMap"/> (jet by default) after
    /// upsampling it bilinearly (PyTorch align_corners=False) to the image size, and blends it over the image with
    /// weight <paramref name="alpha"/>. The colour range is [min, max] when given, else the map's own range.
    /// </summary>
    public static Image Apply(Image image, ReadOnlySpan<float> map, int mapWidth, int mapHeight, float alpha = 0.5f,
        float? min = null, float? max = null, ColorMap? colorMap = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (map.Length != mapWidth * mapHeight) throw new ArgumentException($"Map has {map.Length} values; {mapWidth}x{mapHeight} needs {mapWidth * mapHeight}.", nameof(map));
        float[] upsampled;
        if (mapWidth == image.Width && mapHeight == image.Height)
        {
            upsampled = map.ToArray();
        }
        else
        {
            upsampled = new float[image.Width * image.Height];
            BilinearResize.Forward(map, mapHeight, mapWidth, upsampled, image.Height, image.Width);
        }
        Image heat = (colorMap ?? ColorMap.Jet).Apply(upsampled, image.Width, image.Height, min, max);
        return Blend(image, heat, alpha);
    }
}
