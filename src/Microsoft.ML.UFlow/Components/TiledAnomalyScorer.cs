using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Scores whole high-resolution images with a model trained on tiles (<see cref="ImageTileData"/>): cuts each image into
/// the model's tiles (<see cref="Onnx.FlowModelFacts.Tiling"/>, or a given <see cref="ImageTiling"/>), scores every tile with the
/// ordinary ML.NET model, and stitches the results at the image's full resolution (<see cref="TiledPrediction"/>): the
/// anomaly map is the mean over overlapping tiles, the image score the highest tile score, −log10 NFA the highest over
/// overlapping tiles minus log10 n_tiles — each tile's tree NFA tests N_T(tile) regions, the image n_tiles·N_T(tile), so
/// the segmentation log10 NFA &lt; 0 keeps its meaning of about one false detection per image.
/// </summary>
/// <remarks>
/// The model is the stock pipeline saved by <c>uflow train --tile</c> (or any pipeline fitted on <see cref="ImageTileData"/>
/// rows): its leading <c>LoadImages</c> step, if any, is skipped and the tiles go in as its <c>Image</c> column. Regions
/// that cross a tile border are tested only as their parts in each tile. Not thread-safe: use one scorer per thread.
/// </remarks>
public sealed class TiledAnomalyScorer
{
    private readonly ITransformer _tileModel;
    private readonly bool _hasNfa;

    /// <summary>Creates a scorer for <paramref name="model"/> (as fitted, or as loaded by <c>MLContext.Model.Load</c>).</summary>
    /// <param name="model">The tile model.</param>
    /// <param name="tiling">The tiles to cut (null: the ones the model was trained on, from its facts).</param>
    /// <exception cref="ArgumentException">No tiling is given and the model was not trained on tiles, or the model does not
    /// take an <c>Image</c> column or lacks <c>Score</c>, <c>PredictedLabel</c> or <c>AnomalyMap</c>.</exception>
    /// <exception cref="InvalidDataException">No tiling is given and the model holds no flow graph of this library.</exception>
    public TiledAnomalyScorer(ITransformer model, ImageTiling? tiling = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Tiling = tiling ?? UFlowModelInfo.Read(model).Tiling
            ?? throw new ArgumentException("The model was not trained on tiles (its flow graph records no tile size); pass the tiling to use, or score whole images with the model itself.", nameof(model));
        var steps = Flatten(model).ToList();
        if (steps.Count > 0 && steps[0] is ImageLoadingTransformer) steps.RemoveAt(0);
        _tileModel = new TransformerChain<ITransformer>(steps.ToArray());
        DataViewSchema output;
        try
        {
            output = _tileModel.GetOutputSchema(new ImageTileDataView([], Tiling).Schema);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentException($"The model cannot score tiles given as its '{AnomalyColumns.Image}' column: {e.Message}", nameof(model), e);
        }
        foreach (string column in new[] { AnomalyColumns.Score, AnomalyColumns.PredictedLabel, AnomalyColumns.AnomalyMap })
        {
            if (output.GetColumnOrNull(column) is null) throw new ArgumentException($"The model does not produce the column '{column}'.", nameof(model));
        }
        _hasNfa = output.GetColumnOrNull(AnomalyColumns.LogNfa) is not null && output.GetColumnOrNull(NfaSegmentationSettings.ColumnName) is not null;
    }

    /// <summary>The tiles images are cut into.</summary>
    public ImageTiling Tiling { get; }

    /// <summary>Whether the model has the NFA segmentation (<see cref="TiledPrediction.LogNfa"/> is filled).</summary>
    public bool HasNfa => _hasNfa;

    /// <summary>Scores the image file at <paramref name="imagePath"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an image.</exception>
    /// <exception cref="ArgumentException">The image is smaller than one tile (the message names it).</exception>
    public TiledPrediction Score(string imagePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagePath);
        var tiles = new ImageTileDataView([imagePath], Tiling);
        var (width, height) = ImageSize(imagePath, tiles);
        int count = 0;
        var scored = _tileModel.Transform(tiles);
        var schema = scored.Schema;
        var columns = new List<DataViewSchema.Column>
        {
            schema[ImageTileData.TileX], schema[ImageTileData.TileY], schema[AnomalyColumns.Score], schema[AnomalyColumns.PredictedLabel], schema[AnomalyColumns.AnomalyMap],
        };
        if (_hasNfa) columns.AddRange([schema[AnomalyColumns.LogNfa], schema[NfaSegmentationSettings.ColumnName]]);
        var stitcher = new TileStitcher(width, height, _hasNfa);
        float score = float.NegativeInfinity, threshold = 0;
        bool flagged = false;
        using (var cursor = scored.GetRowCursor(columns))
        {
            var getX = cursor.GetGetter<int>(schema[ImageTileData.TileX]);
            var getY = cursor.GetGetter<int>(schema[ImageTileData.TileY]);
            var getScore = cursor.GetGetter<float>(schema[AnomalyColumns.Score]);
            var getFlag = cursor.GetGetter<bool>(schema[AnomalyColumns.PredictedLabel]);
            var getMap = cursor.GetGetter<VBuffer<float>>(schema[AnomalyColumns.AnomalyMap]);
            var getNfa = _hasNfa ? cursor.GetGetter<VBuffer<float>>(schema[AnomalyColumns.LogNfa]) : null;
            var getSettings = _hasNfa ? cursor.GetGetter<VBuffer<float>>(schema[NfaSegmentationSettings.ColumnName]) : null;
            int x = 0, y = 0;
            float tileScore = 0;
            bool tileFlag = false;
            VBuffer<float> map = default, nfa = default, settings = default;
            while (cursor.MoveNext())
            {
                getX(ref x);
                getY(ref y);
                getScore(ref tileScore);
                getFlag(ref tileFlag);
                getMap(ref map);
                score = Math.Max(score, tileScore);
                flagged |= tileFlag;
                if (getNfa is not null)
                {
                    getNfa(ref nfa);
                    if (count == 0)
                    {
                        getSettings!(ref settings);
                        threshold = (float)-Math.Log10(NfaSegmentationSettings.FromVector(settings.DenseValues().ToArray()).FalseAlarmsPerImage);
                    }
                }
                stitcher.Add(new ImageTile(x, y, Tiling.TileSize), Dense(map), getNfa is null ? [] : Dense(nfa));
                count++;
            }
        }
        var anomalyMap = new float[width * height];
        var logNfa = _hasNfa ? new float[width * height] : [];
        var mask = _hasNfa ? new bool[width * height] : [];
        stitcher.Finish(Math.Log10(count), threshold, anomalyMap, logNfa, mask);
        return new TiledPrediction
        {
            Width = width, Height = height, TileCount = count, Score = score, PredictedLabel = flagged,
            AnomalyMap = anomalyMap, LogNfa = logNfa, SegmentationMask = mask,
        };
    }

    // The tile view has read the header; the last tile's far corner is the image's size.
    private static (int Width, int Height) ImageSize(string path, ImageTileDataView tiles)
    {
        var last = tiles.Last ?? throw new InvalidOperationException($"'{path}' gave no tiles.");
        return (last.X + last.Size, last.Y + last.Size);
    }

    private static ReadOnlySpan<float> Dense(VBuffer<float> values) => values.IsDense ? values.GetValues() : values.DenseValues().ToArray();

    private static IEnumerable<ITransformer> Flatten(ITransformer transformer)
        => transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [transformer];
}
