namespace Microsoft.ML.UFlow;

/// <summary>
/// What <see cref="TiledAnomalyScorer"/> gives for one image: maps at the image's full resolution (row-major,
/// <see cref="Width"/>×<see cref="Height"/>) stitched from its tiles, and the image score.
/// </summary>
public sealed class TiledPrediction
{
    /// <summary>The image's width in pixels (the maps' width).</summary>
    public required int Width { get; init; }

    /// <summary>The image's height in pixels (the maps' height).</summary>
    public required int Height { get; init; }

    /// <summary>The tiles the image was cut into.</summary>
    public required int TileCount { get; init; }

    /// <summary>log10 of <see cref="TileCount"/>: what the image's log10 NFA adds to each tile's (Bonferroni over tiles).</summary>
    public double Log10TileCount => Math.Log10(TileCount);

    /// <summary>The image score: the highest tile score.</summary>
    public required float Score { get; init; }

    /// <summary>Whether a tile's score is above the model's threshold (the threshold is the highest training tile's score).</summary>
    public required bool PredictedLabel { get; init; }

    /// <summary>The anomaly map: at each pixel the mean of the tiles covering it, values in [0, 1].</summary>
    public required float[] AnomalyMap { get; init; }

    /// <summary>
    /// −log10 NFA of the image at each pixel: the highest of the tiles covering it minus <see cref="Log10TileCount"/>,
    /// positive means detected; empty for a model without the NFA segmentation.
    /// </summary>
    public required float[] LogNfa { get; init; }

    /// <summary>The automatic segmentation: <see cref="LogNfa"/> above −log10 ε (ε = 1: log10 NFA &lt; 0); empty without the NFA.</summary>
    public required bool[] SegmentationMask { get; init; }

    /// <summary>Whether the segmentation detected anything.</summary>
    public bool HasDetection => Array.IndexOf(SegmentationMask, true) >= 0;
}
