using System.Globalization;
using Microsoft.ML.UFlow.Imaging;
using SkiaSharp;

/// <summary>The service's per-image work: which files it inspects, the verdict line, the overlay picture.</summary>
internal static class Inspection
{
    private static readonly string[] s_extensions = [".png", ".jpg", ".jpeg", ".bmp"];

    /// <summary>The images of <paramref name="folder"/> (not its subfolders), in name order.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">It holds no image.</exception>
    public static string[] Images(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Image folder '{folder}' does not exist.");
        string[] images = Directory.EnumerateFiles(folder)
            .Where(f => s_extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).ToArray();
        return images.Length > 0 ? images : throw new InvalidDataException($"Image folder '{folder}' holds no .png, .jpg or .bmp file.");
    }

    /// <summary>Prints the verdict of one image and writes its overlay; returns 1 when it is anomalous, else 0.</summary>
    /// <param name="mapHeight">The model's map height (<c>FlowModelFacts.MapHeight</c>).</param>
    /// <param name="mapWidth">The model's map width: maps are row-major, the input's aspect with the shorter side S.</param>
    public static int Report(string image, float score, bool anomalous, float[] map, bool[]? mask, int mapHeight, int mapWidth, string overlayFolder)
    {
        string overlay = Path.Combine(overlayFolder, Path.GetFileNameWithoutExtension(image) + "_overlay.png");
        WriteOverlay(image, map, mask, mapHeight, mapWidth, overlay);
        string region = mask is null ? "" : $", NFA region {mask.Count(m => m)} px";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Path.GetFileName(image)}: {(anomalous ? "ANOMALOUS" : "normal")} (score {score:F4}{region}) -> {overlay}"));
        return anomalous ? 1 : 0;
    }

    // The picture at its own size, the map (values in [0, 1]: one colour scale for every image) over all of it as jet at
    // 50 %, and the segmentation's contour in white. The map covers the picture as the model's ResizeImages (Fill) saw it:
    // all of it, stretched back to the picture's own size.
    private static void WriteOverlay(string image, float[] map, bool[]? mask, int mapHeight, int mapWidth, string path)
    {
        if (map.Length != mapHeight * mapWidth) throw new InvalidDataException($"The map has {map.Length} values, not the model's {mapWidth}x{mapHeight}.");
        using SKBitmap picture = SKBitmap.Decode(image) ?? throw new InvalidDataException($"'{image}' cannot be decoded as an image.");
        using var overlay = new SKBitmap(new SKImageInfo(picture.Width, picture.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(overlay))
        {
            var whole = new SKRect(0, 0, picture.Width, picture.Height);
            canvas.DrawBitmap(picture, whole);
            HeatMapOverlay.Draw(canvas, whole, map, mapWidth, mapHeight, alpha: 0.5f, min: 0, max: 1);
            if (mask is not null)
            {
                canvas.Scale(picture.Width / (float)mapWidth, picture.Height / (float)mapHeight);
                MaskContour.Draw(canvas, mask, mapWidth, mapHeight, SKColors.White, thickness: 1);
            }
        }
        PngEncoder.Save(overlay, path);
    }
}
