using Microsoft.ML.UFlow.Imaging;
using SkiaSharp;

namespace Microsoft.ML.UFlow.Cli.Report;

/// <summary>
/// Renders the per-image pictures of reports and predictions with SkiaSharp, at the anomaly map's size: input, contours,
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
        int size = Side(row.AnomalyMap);
        using SKBitmap input = Background(row.ImagePath, model.InputSize, size);
        string prefix = $"{index:D4}";
        string inputPng = Save(input, imagesDir, prefix + "_input.png");
        bool[] truth = GroundTruth(row.MaskPath, model.InputSize, size);
        string gtPng = SaveDrawn(input, imagesDir, prefix + "_gt.png", canvas => Contour(canvas, truth, size, s_groundTruthColour));
        string heatPng = SaveDrawn(input, imagesDir, prefix + "_heat.png", canvas => HeatMap(canvas, row.AnomalyMap, size, model));
        float? maxLogNfa = null;
        int? detected = null;
        string? nfaPng = null;
        if (model.HasNfa)
        {
            maxLogNfa = TensorPrimitives.Max<float>(row.LogNfa);
            detected = row.SegmentationMask.Count(m => m);
            nfaPng = "images/" + SaveDrawn(input, imagesDir, prefix + "_nfa.png", canvas => Contour(canvas, row.SegmentationMask, size, s_nfaColour));
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
        int size = Side(prediction.AnomalyMap);
        bool[] segmentation = prediction.SegmentationMask;
        string? maskPath = null;
        if (model.HasNfa)
        {
            if (segmentation.Length != size * size) throw new ArgumentException($"The segmentation mask has {segmentation.Length} values for a {size}x{size} map.");
            using var mask = new SKBitmap(new SKImageInfo(size, size, SKColorType.Gray8, SKAlphaType.Opaque));
            Span<byte> pixels = mask.GetPixelSpan();
            for (int y = 0; y < size; y++)
            {
                for (int x = 0; x < size; x++) pixels[y * mask.RowBytes + x] = segmentation[y * size + x] ? (byte)255 : (byte)0;
            }
            maskPath = Path.Combine(outDir, Save(mask, outDir, stem + "_mask.png"));
        }
        using SKBitmap background = Background(imagePath, model.InputSize, size);
        string overlay = SaveDrawn(background, outDir, stem + "_overlay.png", canvas =>
        {
            HeatMap(canvas, prediction.AnomalyMap, size, model);
            if (model.HasNfa) Contour(canvas, segmentation, size, s_nfaColour);
        });
        return (maskPath, Path.Combine(outDir, overlay));
    }

    /// <summary>
    /// The image as the model saw it — decoded through <c>MLImage</c> and resized to its input size as ML.NET's
    /// <c>ResizeImages</c> (Fill) does, SkiaSharp nearest neighbour — then scaled to the map's size (bilinear, mipmapped
    /// when reducing), opaque: alpha shows over black, as the model's pixels have it.
    /// </summary>
    private static SKBitmap Background(string path, int inputSize, int size)
    {
        using SKBitmap decoded = ImageDecoder.DecodeToBitmap(path);
        using SKBitmap seen = decoded.Resize(new SKSizeI(inputSize, inputSize), new SKSamplingOptions(SKFilterMode.Nearest))
            ?? throw new InvalidOperationException($"SkiaSharp could not resize '{path}' to {inputSize}x{inputSize}.");
        using SKImage image = SKImage.FromBitmap(seen);
        var background = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        try
        {
            using var canvas = new SKCanvas(background);
            canvas.Clear(SKColors.Black);
            canvas.DrawImage(image, new SKRect(0, 0, size, size), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
            return background;
        }
        catch
        {
            background.Dispose();
            throw;
        }
    }

    /// <summary>The ground-truth mask as the metrics see it (<see cref="GroundTruthMask"/>) at the map's size; all normal without a path.</summary>
    private static bool[] GroundTruth(string maskPath, int inputSize, int size)
    {
        var values = new float[size * size];
        if (!string.IsNullOrEmpty(maskPath)) GroundTruthMask.Prepare(ImageDecoder.Decode(maskPath), inputSize, size, values);
        return Array.ConvertAll(values, v => v > 0.5f);
    }

    private static int Side(float[] map)
    {
        int side = (int)Math.Round(Math.Sqrt(map.Length));
        if (side == 0 || side * side != map.Length) throw new ArgumentException($"The anomaly map has {map.Length} values, not a square map.");
        return side;
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
    private static void HeatMap(SKCanvas canvas, float[] map, int size, ModelCapabilities model)
        => HeatMapOverlay.Draw(canvas, new SKRect(0, 0, size, size), map, size, size, 0.5f, 0f, model.HeatMapMax);

    private static void Contour(SKCanvas canvas, bool[] mask, int size, SKColor colour)
    {
        if (mask.Length != size * size) throw new ArgumentException($"Mask has {mask.Length} values for a {size}x{size} picture.");
        MaskContour.Draw(canvas, mask, size, size, colour, ContourThickness);
    }
}
