using System.Globalization;
using Microsoft.ML.Data;

namespace Microsoft.ML.UFlow.Cli.Commands;

/// <summary>
/// 'uflow eval' of a model trained on tiles: every test image is scored whole by <see cref="TiledAnomalyScorer"/> (the
/// library's), and the stitched full-resolution maps become the scored data the usual metrics and report read, on the
/// images' own grid. The evaluators take one grid, so the test images must share one size; the maps are kept in memory
/// (about 9 bytes per pixel and image, 7 MB for a 900x900 image).
/// </summary>
internal static class TiledEvaluation
{
    /// <summary>The scored data (<see cref="ScoredImage"/> columns, maps of the images' size) and the capabilities on that grid.</summary>
    /// <exception cref="ArgumentException">The test images are not all of one size, or one is smaller than a tile.</exception>
    public static (IDataView Scored, ModelCapabilities OnImages, int TilesPerImage) Score(MLContext ml, ITransformer model, ModelCapabilities caps, IDataView test, Action<int, int> progress)
    {
        var scorer = new TiledAnomalyScorer(model, caps.Tiling);
        var rows = ml.Data.CreateEnumerable<ScoredImage>(test, reuseRowObject: false, ignoreMissingColumns: true).ToList();
        var scored = new List<ScoredImage>(rows.Count);
        (int Width, int Height, string Path)? first = null;
        int tiles = 0;
        foreach (ScoredImage row in rows)
        {
            TiledPrediction p = ImageErrors.Named(row.ImagePath, () => scorer.Score(row.ImagePath));
            first ??= (p.Width, p.Height, row.ImagePath);
            if ((p.Width, p.Height) != (first.Value.Width, first.Value.Height))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"'{row.ImagePath}' is {p.Width}x{p.Height} but '{first.Value.Path}' is {first.Value.Width}x{first.Value.Height}: the evaluation of a tiled model compares full-resolution maps on one grid, so the test images must share one size."));
            }
            tiles = p.TileCount;
            row.Score = p.Score;
            row.PredictedLabel = p.PredictedLabel;
            row.AnomalyMap = p.AnomalyMap;
            row.LogNfa = p.LogNfa;
            row.SegmentationMask = p.SegmentationMask;
            scored.Add(row);
            progress(scored.Count, rows.Count);
        }
        if (first is not { } size) throw new ArgumentException("The test set has no images.");
        var definition = SchemaDefinition.Create(typeof(ScoredImage));
        definition[AnomalyColumns.AnomalyMap].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size.Height, size.Width);
        if (scorer.HasNfa)
        {
            definition[AnomalyColumns.LogNfa].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size.Height, size.Width);
            definition[AnomalyColumns.SegmentationMask].ColumnType = new VectorDataViewType(BooleanDataViewType.Instance, size.Height, size.Width);
        }
        else
        {
            definition.RemoveAll(c => c.ColumnName is AnomalyColumns.LogNfa or AnomalyColumns.SegmentationMask);
        }
        return (ml.Data.LoadFromEnumerable(scored, definition), caps.ForImage(size.Width, size.Height), tiles);
    }
}
