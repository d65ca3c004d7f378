using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Cli.Report;

/// <summary>Renders the per-image pictures of reports and predictions: input, contours, heat-map overlay, masks (PNG).</summary>
internal static class ReportImages
{
    private static readonly byte[] s_groundTruthColour = [0, 200, 0];
    private static readonly byte[] s_nfaColour = [255, 48, 48];

    /// <summary>Writes the four pictures of one evaluated row and returns its report entry.</summary>
    public static ReportEntry Write(string imagesDir, DataRow row, int index, string dataRoot)
    {
        string path = row.Get<string>(DataCatalog.ImagePathColumn);
        string relative = Path.GetRelativePath(dataRoot, path).Replace('\\', '/');
        string group = Path.GetFileName(Path.GetDirectoryName(path)) ?? "";
        var map = row.Get<Tensor>(UFlowColumns.AnomalyMap);
        int size = map.Shape[0];
        var input = Background(row, size);
        var gt = row.Get<Tensor>(UFlowColumns.GroundTruth);
        var seg = row.Get<Tensor>(UFlowColumns.SegmentationMask);
        var logNfa = row.Get<Tensor>(UFlowColumns.LogNfa);
        string prefix = $"{index:D4}";
        string inputPng = Save(input, imagesDir, prefix + "_input.png");
        string gtPng = Save(DrawContour(input.Clone(), gt.Span, s_groundTruthColour), imagesDir, prefix + "_gt.png");
        string heatPng = Save(HeatOverlay(input, map.Span), imagesDir, prefix + "_heat.png");
        string nfaPng = Save(DrawContour(input.Clone(), seg.Span, s_nfaColour), imagesDir, prefix + "_nfa.png");
        return new ReportEntry(relative, group, row.Get<bool>(DataCatalog.LabelColumn), row.Get<float>(UFlowColumns.Score),
            TensorPrimitives.Max(logNfa.Span), (int)TensorPrimitives.Sum(seg.Span),
            "images/" + inputPng, "images/" + gtPng, "images/" + heatPng, "images/" + nfaPng);
    }

    /// <summary>Writes <c>&lt;stem&gt;_mask.png</c> (0/255) and <c>&lt;stem&gt;_overlay.png</c> (heat map + NFA contour) of one prediction.</summary>
    public static (string Mask, string Overlay) WritePrediction(string outDir, string stem, DataRow row)
    {
        var map = row.Get<Tensor>(UFlowColumns.AnomalyMap);
        var seg = row.Get<Tensor>(UFlowColumns.SegmentationMask);
        int size = seg.Shape[0];
        var mask = new Image(size, size, 1);
        var m = seg.Span;
        for (int i = 0; i < m.Length; i++) mask.Pixels[i] = m[i] > 0.5f ? (byte)255 : (byte)0;
        string maskPath = Path.Combine(outDir, Save(mask, outDir, stem + "_mask.png"));
        var overlay = DrawContour(HeatOverlay(Background(row, size), map.Span), seg.Span, s_nfaColour);
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

    /// <summary>Blends a jet colouring of the map (values in [0,1]) with the image, 50/50.</summary>
    private static Image HeatOverlay(Image background, ReadOnlySpan<float> map)
    {
        var result = background.Clone();
        var px = result.Pixels;
        for (int i = 0; i < map.Length; i++)
        {
            var (r, g, b) = Jet(map[i]);
            px[3 * i] = (byte)((px[3 * i] + r + 1) / 2);
            px[3 * i + 1] = (byte)((px[3 * i + 1] + g + 1) / 2);
            px[3 * i + 2] = (byte)((px[3 * i + 2] + b + 1) / 2);
        }
        return result;
    }

    /// <summary>The classic 'jet' colour map, piecewise linear (blue → cyan → yellow → red).</summary>
    private static (int R, int G, int B) Jet(float v)
    {
        float x = float.IsNaN(v) ? 0 : Math.Clamp(v, 0f, 1f);
        static int C(float t) => (int)MathF.Round(255 * Math.Clamp(t, 0f, 1f));
        return (C(1.5f - MathF.Abs(4 * x - 3)), C(1.5f - MathF.Abs(4 * x - 2)), C(1.5f - MathF.Abs(4 * x - 1)));
    }

    /// <summary>Draws the 2-pixel-wide inner boundary of a 0/1 mask (a mask pixel with a 4-neighbour outside the mask).</summary>
    private static Image DrawContour(Image image, ReadOnlySpan<float> mask, byte[] colour)
    {
        int w = image.Width, h = image.Height;
        if (mask.Length != w * h) return image;
        var edge = new bool[w * h];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                if (mask[i] <= 0.5f) continue;
                bool border = x == 0 || y == 0 || x == w - 1 || y == h - 1
                    || mask[i - 1] <= 0.5f || mask[i + 1] <= 0.5f || mask[i - w] <= 0.5f || mask[i + w] <= 0.5f;
                if (border) edge[i] = true;
            }
        }
        var px = image.Pixels;
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                // thicken by one pixel inward/outward so the contour is visible at report size
                bool on = edge[y * w + x] || (x > 0 && edge[y * w + x - 1]) || (y > 0 && edge[(y - 1) * w + x]);
                if (!on) continue;
                int i = 3 * (y * w + x);
                px[i] = colour[0];
                px[i + 1] = colour[1];
                px[i + 2] = colour[2];
            }
        }
        return image;
    }
}
