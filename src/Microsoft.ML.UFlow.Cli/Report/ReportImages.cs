using Microsoft.ML.UFlow.Imaging;

namespace Microsoft.ML.UFlow.Cli.Report;

/// <summary>Renders the per-image pictures of reports and predictions: input, contours, heat-map overlay, masks (PNG).</summary>
internal static class ReportImages
{
    private static readonly (byte R, byte G, byte B) s_groundTruthColour = (0, 200, 0);
    private static readonly (byte R, byte G, byte B) s_nfaColour = (255, 48, 48);

    /// <summary>Writes the pictures of one evaluated image (input, ground truth, heat map, and the NFA contour when the model has it) and returns its report entry.</summary>
    public static ReportEntry Write(string imagesDir, ScoredImage row, int index, string dataRoot, ModelCapabilities model)
    {
        string relative = Path.GetRelativePath(dataRoot, row.ImagePath).Replace('\\', '/');
        string group = Path.GetFileName(Path.GetDirectoryName(row.ImagePath)) ?? "";
        int size = Side(row.AnomalyMap);
        var input = Background(row.ImagePath, model.InputSize, size);
        string prefix = $"{index:D4}";
        string inputPng = Save(input, imagesDir, prefix + "_input.png");
        string gtPng = Save(DrawContour(input, GroundTruth(row.MaskPath, model.InputSize, size), s_groundTruthColour), imagesDir, prefix + "_gt.png");
        string heatPng = Save(HeatOverlay(input, row.AnomalyMap, model), imagesDir, prefix + "_heat.png");
        float? maxLogNfa = null;
        int? detected = null;
        string? nfaPng = null;
        if (model.HasNfa)
        {
            maxLogNfa = TensorPrimitives.Max<float>(row.LogNfa);
            detected = row.SegmentationMask.Count(m => m);
            nfaPng = "images/" + Save(DrawContour(input, row.SegmentationMask, s_nfaColour), imagesDir, prefix + "_nfa.png");
        }
        return new ReportEntry(relative, group, row.Label != 0, row.Score, row.PredictedLabel,
            maxLogNfa, detected, "images/" + inputPng, "images/" + gtPng, "images/" + heatPng, nfaPng);
    }

    /// <summary>
    /// Writes <c>&lt;stem&gt;_overlay.png</c> (heat map, plus the NFA contour when the model has it) and, for models with
    /// the NFA segmentation, <c>&lt;stem&gt;_mask.png</c> (0/255) of one prediction of the image at <paramref name="imagePath"/>.
    /// </summary>
    public static (string? Mask, string Overlay) WritePrediction(string outDir, string stem, string imagePath, UFlowPrediction prediction, ModelCapabilities model)
    {
        int size = Side(prediction.AnomalyMap);
        var overlay = HeatOverlay(Background(imagePath, model.InputSize, size), prediction.AnomalyMap, model);
        string? maskPath = null;
        if (model.HasNfa)
        {
            var mask = new Image(size, size, 1);
            bool[] m = prediction.SegmentationMask;
            if (m.Length != mask.Pixels.Length) throw new ArgumentException($"The segmentation mask has {m.Length} values for a {size}x{size} map.");
            for (int i = 0; i < m.Length; i++) mask.Pixels[i] = m[i] ? (byte)255 : (byte)0;
            maskPath = Path.Combine(outDir, Save(mask, outDir, stem + "_mask.png"));
            overlay = DrawContour(overlay, m, s_nfaColour);
        }
        string overlayPath = Path.Combine(outDir, Save(overlay, outDir, stem + "_overlay.png"));
        return (maskPath, overlayPath);
    }

    /// <summary>The image as the model saw it (resized to its input size), then at the map's size, in RGB.</summary>
    private static Image Background(string path, int inputSize, int size)
    {
        var image = ImageDecoder.Decode(path);
        if (image.Channels != 3) image = image.ToRgb();
        return Resize(Resize(image, inputSize), size);
    }

    /// <summary>The ground-truth mask resized like the image (to the input size, then the map's), binarised; all normal without a path.</summary>
    private static bool[] GroundTruth(string maskPath, int inputSize, int size)
    {
        var result = new bool[size * size];
        if (string.IsNullOrEmpty(maskPath)) return result;
        var mask = ImageDecoder.Decode(maskPath);
        if (mask.Channels != 1) mask = mask.ToGrey();
        mask = Resize(Resize(mask, inputSize), size);
        for (int i = 0; i < result.Length; i++) result[i] = mask.Pixels[i] > 127;
        return result;
    }

    private static Image Resize(Image image, int size)
        => image.Width == size && image.Height == size ? image : ImageResize.Bilinear(image, size, size);

    private static int Side(float[] map)
    {
        int side = (int)Math.Round(Math.Sqrt(map.Length));
        if (side == 0 || side * side != map.Length) throw new ArgumentException($"The anomaly map has {map.Length} values, not a square map.");
        return side;
    }

    private static string Save(Image image, string dir, string name)
    {
        PngEncoder.Save(image, Path.Combine(dir, name));
        return name;
    }

    /// <summary>
    /// Blends the jet colouring of the map with the image, 50/50, over the model's fixed colour range
    /// (<see cref="ModelCapabilities.HeatMapMax"/>, so pictures compare across images), or [0, map maximum] without one.
    /// </summary>
    private static Image HeatOverlay(Image background, float[] map, ModelCapabilities model)
    {
        int side = Side(map);
        return HeatMapOverlay.Apply(background, map, side, side, 0.5f, 0f, model.HeatMapMax);
    }

    /// <summary>Draws the 2-pixel contour of a mask of the image's size (Imaging layer).</summary>
    private static Image DrawContour(Image image, bool[] mask, (byte R, byte G, byte B) colour)
    {
        var m = new Image(image.Width, image.Height, 1);
        if (mask.Length != m.Pixels.Length) throw new ArgumentException($"Mask has {mask.Length} values for a {image.Width}x{image.Height} image.");
        for (int i = 0; i < mask.Length; i++) m.Pixels[i] = mask[i] ? (byte)255 : (byte)0;
        return MaskContour.Draw(image, m, colour, thickness: 2);
    }
}
