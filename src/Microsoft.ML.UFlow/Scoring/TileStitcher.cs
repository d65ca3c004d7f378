using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Scoring;

/// <summary>
/// Stitches per-tile maps into full-resolution maps of one image: the anomaly map is the mean over the tiles covering a
/// pixel (the maps are likelihoods of the same flow, not normalised per tile, so overlaps agree up to the tile's context);
/// −log10 NFA is the maximum over them (the smallest NFA: a region found in any tile counts), minus log10 of the number
/// of tiles — each tile's tree tests N_T(tile) regions, the image n_tiles·N_T(tile) (Bonferroni over tiles), so
/// log10 NFA_image = log10 NFA_tile + log10 n_tiles and log NFA &lt; 0 still means about one false detection per image.
/// A tile's map on another grid than its pixels (the model's map side S ≠ the tile) is resampled bilinearly first.
/// </summary>
internal sealed class TileStitcher
{
    private readonly int _width, _height;
    private readonly float[] _mapSum, _coverage, _negativeLog10Nfa;
    private float[] _resampled = [];

    public TileStitcher(int width, int height, bool withNfa)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"The image must be positive; got {width}x{height}.");
        _width = width;
        _height = height;
        _mapSum = new float[width * height];
        _coverage = new float[width * height];
        _negativeLog10Nfa = withNfa ? new float[width * height] : [];
        _negativeLog10Nfa.AsSpan().Fill(float.NegativeInfinity);
    }

    /// <summary>Adds one tile's anomaly map and, with the NFA, its −log10 NFA (both square, row-major, any side).</summary>
    public void Add(ImageTile tile, ReadOnlySpan<float> map, ReadOnlySpan<float> negativeLog10Nfa)
    {
        if (tile.X < 0 || tile.Y < 0 || tile.X + tile.Size > _width || tile.Y + tile.Size > _height)
            throw new ArgumentOutOfRangeException(nameof(tile), $"The tile at ({tile.X}, {tile.Y}) of side {tile.Size} reaches outside the {_width}x{_height} image.");
        ReadOnlySpan<float> values = OnTilePixels(map, tile.Size, "anomaly map");
        for (int y = 0; y < tile.Size; y++)
        {
            int row = (tile.Y + y) * _width + tile.X;
            for (int x = 0; x < tile.Size; x++)
            {
                _mapSum[row + x] += values[y * tile.Size + x];
                _coverage[row + x] += 1;
            }
        }
        if (_negativeLog10Nfa.Length == 0) return;
        values = OnTilePixels(negativeLog10Nfa, tile.Size, "−log10 NFA map");
        for (int y = 0; y < tile.Size; y++)
        {
            int row = (tile.Y + y) * _width + tile.X;
            for (int x = 0; x < tile.Size; x++) _negativeLog10Nfa[row + x] = Math.Max(_negativeLog10Nfa[row + x], values[y * tile.Size + x]);
        }
    }

    /// <summary>
    /// Writes the mean anomaly map into <paramref name="map"/> and, with the NFA, −log10 NFA of the image (the tiles'
    /// maximum − <paramref name="log10TileCount"/>) and the mask −log10 NFA &gt; <paramref name="threshold"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">A pixel is covered by no tile.</exception>
    public void Finish(double log10TileCount, float threshold, Span<float> map, Span<float> negativeLog10Nfa, Span<bool> mask)
    {
        for (int i = 0; i < _mapSum.Length; i++)
        {
            if (_coverage[i] == 0) throw new InvalidOperationException($"Pixel ({i % _width}, {i / _width}) of the {_width}x{_height} image is covered by no tile.");
            map[i] = _mapSum[i] / _coverage[i];
        }
        if (_negativeLog10Nfa.Length == 0) return;
        float offset = (float)log10TileCount;
        for (int i = 0; i < _negativeLog10Nfa.Length; i++)
        {
            float value = _negativeLog10Nfa[i] - offset;
            negativeLog10Nfa[i] = value;
            mask[i] = value > threshold;
        }
    }

    private ReadOnlySpan<float> OnTilePixels(ReadOnlySpan<float> values, int tileSize, string what)
    {
        if (values.Length == tileSize * tileSize) return values;
        int side = (int)Math.Round(Math.Sqrt(values.Length));
        if (side < 1 || side * side != values.Length)
            throw new ArgumentException($"The tile's {what} has {values.Length} values, not a square grid.");
        if (_resampled.Length != tileSize * tileSize) _resampled = new float[tileSize * tileSize];
        BilinearResize.Forward(values, side, side, _resampled, tileSize, tileSize);
        return _resampled;
    }
}
