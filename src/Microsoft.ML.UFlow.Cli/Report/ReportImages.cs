using Microsoft.ML.UFlow.Imaging;
using SkiaSharp;

namespace Microsoft.ML.UFlow.Cli.Report;

/// <summary>
/// Renders the per-image pictures of reports and predictions with SkiaSharp, on the anomaly map's grid (the model's input aspect): input, contours,
/// heat-map overlay, masks (PNG).
/// </summary>
internal static class ReportImages
{
    private static readonly SKColor s_groundTruthColour = new(0, 200, 0);
    private static readonly SKColor s_nfaColour = new(255, 48, 48);
    private const int ContourThickness = 2;

    /// <summary>Writes the pictures of one evaluated image (input, ground truth, heat map, and the NFA contour when the model has it) and returns its report entry.</summary>
    public static ReportEntry Write(string imagesDir, ScoredImage row, int index, string dataRoot, ModelCapabilities model)
    {
        string relative = Path.GetRelativePath(dataRoot, row.ImagePath).Replace('\\', '/');
        string group = Path.GetFileName(Path.GetDirectoryName(row.ImagePath)) ?? "";
        var grid = Grid(row.AnomalyMap, model);
        using SKBitmap input = Background(row.ImagePath, model, grid);
        string prefix = $"{index:D4}";
        string inputPng = Save(input, imagesDir, prefix + "_input.png");
        bool[] truth = GroundTruth(row.MaskPath, model, grid);
        string gtPng = SaveDrawn(input, imagesDir, prefix + "_gt.png", canvas => Contour(canvas, truth, grid, s_groundTruthColour));
        string heatPng = SaveDrawn(input, imagesDir, prefix + "_heat.png", canvas => HeatMap(canvas, row.AnomalyMap, grid, model));
        float? maxLogNfa = null;
        int? detected = null;
        string? nfaPng = null;
        if (model.HasNfa)
        {
            maxLogNfa = TensorPrimitives.Max<float>(row.LogNfa);
            detected = row.SegmentationMask.Count(m => m);
            nfaPng = "images/" + SaveDrawn(input, imagesDir, prefix + "_nfa.png", canvas => Contour(canvas, row.SegmentationMask, grid, s_nfaColour));
        }
        return new ReportEntry(relative, group, row.Label != 0, row.Score, row.PredictedLabel,
            maxLogNfa, detected, "images/" + inputPng, "images/" + gtPng, "images/" + heatPng, nfaPng);
    }

    /// <summary>
    /// Writes <c>&lt;stem&gt;_overlay.png</c> (heat map, plus the NFA contour when the model has it) and, for models with
    /// the NFA segmentation, <c>&lt;stem&gt;_mask.png</c> (grey, 0/255) of one prediction of the image at <paramref name="imagePath"/>.
    /// </summary>
    public static (string? Mask, string Overlay) WritePrediction(string outDir, string stem, string imagePath, UFlowPrediction prediction, ModelCapabilities model)
    {
        var grid = Grid(prediction.AnomalyMap, model);
        bool[] segmentation = prediction.SegmentationMask;
        string? maskPath = null;
        if (model.HasNfa)
        {
            if (segmentation.Length != grid.Height * grid.Width) throw new ArgumentException($"The segmentation mask has {segmentation.Length} values for a {grid.Width}x{grid.Height} (W×H) map.");
            using var mask = new SKBitmap(new SKImageInfo(grid.Width, grid.Height, SKColorType.Gray8, SKAlphaType.Opaque));
            Span<byte> pixels = mask.GetPixelSpan();
            for (int y = 0; y < grid.Height; y++)
            {
                for (int x = 0; x < grid.Width; x++) pixels[y * mask.RowBytes + x] = segmentation[y * grid.Width + x] ? (byte)255 : (byte)0;
            }
            maskPath = Path.Combine(outDir, Save(mask, outDir, stem + "_mask.png"));
        }
        using SKBitmap background = Background(imagePath, model, grid);
        string overlay = SaveDrawn(background, outDir, stem + "_overlay.png", canvas =>
        {
            HeatMap(canvas, prediction.AnomalyMap, grid, model);
            if (model.HasNfa) Contour(canvas, segmentation, grid, s_nfaColour);
        });
        return (maskPath, Path.Combine(outDir, overlay));
    }

    /// <summary>
    /// The image as the model saw it — decoded through <c>MLImage</c> and resized to its input size as ML.NET's
    /// <c>ResizeImages</c> (Fill) does, SkiaSharp nearest neighbour — then scaled to the map's grid (bilinear, mipmapped
    /// when reducing), opaque: alpha shows over black, as the model's pixels have it.
    /// </summary>
    private static SKBitmap Background(string path, ModelCapabilities model, (int Height, int Width) grid)
    {
        using SKBitmap decoded = ImageDecoder.DecodeToBitmap(path);
        using SKBitmap seen = decoded.Resize(new SKSizeI(model.InputWidth, model.InputHeight), new SKSamplingOptions(SKFilterMode.Nearest))
            ?? throw new InvalidOperationException($"SkiaSharp could not resize '{path}' to {model.InputWidth}x{model.InputHeight}.");
        using SKImage image = SKImage.FromBitmap(seen);
        var background = new SKBitmap(new SKImageInfo(grid.Width, grid.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        try
        {
            using var canvas = new SKCanvas(background);
            canvas.Clear(SKColors.Black);
            canvas.DrawImage(image, new SKRect(0, 0, grid.Width, grid.Height), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
            return background;
        }
        catch
        {
            background.Dispose();
            throw;
        }
    }

    /// <summary>The ground-truth mask as the metrics see it (<see cref="GroundTruthMask"/>) on the map's grid; all normal without a path.</summary>
    private static bool[] GroundTruth(string maskPath, ModelCapabilities model, (int Height, int Width) grid)
    {
        var values = new float[grid.Height * grid.Width];
        if (!string.IsNullOrEmpty(maskPath)) GroundTruthMask.Prepare(ImageDecoder.Decode(maskPath), model.InputWidth, model.InputHeight, grid.Height, grid.Width, values);
        return Array.ConvertAll(values, v => v > 0.5f);
    }

    // The model's map grid (ModelCapabilities, from its flow graph), checked against the map it gave.
    private static (int Height, int Width) Grid(float[] map, ModelCapabilities model)
    {
        if (map.Length != model.MapHeight * model.MapWidth)
            throw new ArgumentException($"The anomaly map has {map.Length} values, not the model's {model.MapWidth}x{model.MapHeight} (W×H).");
        return (model.MapHeight, model.MapWidth);
    }

    private static string Save(SKBitmap bitmap, string dir, string name)
    {
        PngEncoder.Save(bitmap, Path.Combine(dir, name));
        return name;
    }

    /// <summary>Draws on a copy of <paramref name="background"/> and saves it.</summary>
    private static string SaveDrawn(SKBitmap background, string dir, string name, Action<SKCanvas> draw)
    {
        using SKBitmap figure = background.Copy() ?? throw new InvalidOperationException($"SkiaSharp could not copy the picture for '{name}'.");
        using (var canvas = new SKCanvas(figure)) draw(canvas);
        return Save(figure, dir, name);
    }

    /// <summary>
    /// The jet colouring of the map over the picture, 50/50, over the model's fixed colour range
    /// (<see cref="ModelCapabilities.HeatMapMax"/>, so pictures compare across images), or [0, map maximum] without one.
    /// </summary>
    private static void HeatMap(SKCanvas canvas, float[] map, (int Height, int Width) grid, ModelCapabilities model)
        => HeatMapOverlay.Draw(canvas, new SKRect(0, 0, grid.Width, grid.Height), map, grid.Width, grid.Height, 0.5f, 0f, model.HeatMapMax);

    private static void Contour(SKCanvas canvas, bool[] mask, (int Height, int Width) grid, SKColor colour)
    {
        if (mask.Length != grid.Height * grid.Width) throw new ArgumentException($"Mask has {mask.Length} values for a {grid.Width}x{grid.Height} (W×H) picture.");
        MaskContour.Draw(canvas, mask, grid.Width, grid.Height, colour, ContourThickness);
    }
}
