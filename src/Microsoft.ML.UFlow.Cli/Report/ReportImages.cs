using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Cli.Report;

/// <summary>Renders the per-image pictures of reports and predictions: input, contours, heat-map overlay, masks (PNG).</summary>
internal static class ReportImages
{
    private static readonly (byte R, byte G, byte B) s_groundTruthColour = (0, 200, 0);
    private static readonly (byte R, byte G, byte B) s_nfaColour = (255, 48, 48);

    /// <summary>Writes the pictures of one evaluated row (input, ground truth, heat map, and the NFA contour when the model has it) and returns its report entry.</summary>
    public static ReportEntry Write(string imagesDir, DataRow row, int index, string dataRoot, ModelCapabilities model)
    {
        string path = row.Get<string>(DataCatalog.ImagePathColumn);
        string relative = Path.GetRelativePath(dataRoot, path).Replace('\\', '/');
        string group = Path.GetFileName(Path.GetDirectoryName(path)) ?? "";
        var map = row.Get<Tensor>(UFlowColumns.AnomalyMap);
        int size = map.Shape[0];
        var input = Background(row, size);
        var gt = row.Get<Tensor>(UFlowColumns.GroundTruth);
        string prefix = $"{index:D4}";
        string inputPng = Save(input, imagesDir, prefix + "_input.png");
        string gtPng = Save(DrawContour(input, gt.Span, s_groundTruthColour), imagesDir, prefix + "_gt.png");
        string heatPng = Save(HeatOverlay(input, map.Span, model), imagesDir, prefix + "_heat.png");
        float? maxLogNfa = null;
        int? detected = null;
        string? nfaPng = null;
        if (model.HasNfa)
        {
            var seg = row.Get<Tensor>(UFlowColumns.SegmentationMask);
            maxLogNfa = TensorPrimitives.Max(row.Get<Tensor>(UFlowColumns.LogNfa).Span);
            detected = (int)TensorPrimitives.Sum(seg.Span);
            nfaPng = "images/" + Save(DrawContour(input, seg.Span, s_nfaColour), imagesDir, prefix + "_nfa.png");
        }
        return new ReportEntry(relative, group, row.Get<bool>(DataCatalog.LabelColumn), row.Get<float>(UFlowColumns.Score), row.Get<bool>(UFlowColumns.PredictedLabel),
            maxLogNfa, detected, "images/" + inputPng, "images/" + gtPng, "images/" + heatPng, nfaPng);
    }

    /// <summary>
    /// Writes <c>&lt;stem&gt;_overlay.png</c> (heat map, plus the NFA contour when the model has it) and, for models with
    /// the NFA segmentation, <c>&lt;stem&gt;_mask.png</c> (0/255) of one prediction.
    /// </summary>
    public static (string? Mask, string Overlay) WritePrediction(string outDir, string stem, DataRow row, ModelCapabilities model)
    {
        var map = row.Get<Tensor>(UFlowColumns.AnomalyMap);
        int size = map.Shape[0];
        var overlay = HeatOverlay(Background(row, size), map.Span, model);
        string? maskPath = null;
        if (model.HasNfa)
        {
            var seg = row.Get<Tensor>(UFlowColumns.SegmentationMask);
            var mask = new Image(size, size, 1);
            var m = seg.Span;
            for (int i = 0; i < m.Length; i++) mask.Pixels[i] = m[i] > 0.5f ? (byte)255 : (byte)0;
            maskPath = Path.Combine(outDir, Save(mask, outDir, stem + "_mask.png"));
            overlay = DrawContour(overlay, seg.Span, s_nfaColour);
        }
        string overlayPath = Path.Combine(outDir, Save(overlay, outDir, stem + "_overlay.png"));
        return (maskPath, overlayPath);
    }

    private static Image Background(DataRow row, int size)
    {
        var image = row.Get<Image>(UFlowColumns.Image);
        if (image.Channels != 3) image = image.ToRgb();
        return image.Width == size && image.Height == size ? image : ImageResize.Bilinear(image, size, size);
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
    private static Image HeatOverlay(Image background, ReadOnlySpan<float> map, ModelCapabilities model)
    {
        int side = (int)Math.Sqrt(map.Length);
        return HeatMapOverlay.Apply(background, map, side, side, 0.5f, 0f, model.HeatMapMax);
    }

    /// <summary>Draws the 2-pixel contour of a 0/1 mask tensor of the image's size (Imaging layer).</summary>
    private static Image DrawContour(Image image, ReadOnlySpan<float> mask, (byte R, byte G, byte B) colour)
    {
        var m = new Image(image.Width, image.Height, 1);
        if (mask.Length != m.Pixels.Length) throw new ArgumentException($"Mask has {mask.Length} values for a {image.Width}x{image.Height} image.");
        for (int i = 0; i < mask.Length; i++) m.Pixels[i] = mask[i] > 0.5f ? (byte)255 : (byte)0;
        return MaskContour.Draw(image, m, colour, thickness: 2);
    }
}
