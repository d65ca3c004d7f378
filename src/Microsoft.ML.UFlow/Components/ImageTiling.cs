using System.Globalization;

namespace Microsoft.ML.UFlow;

/// <summary>
/// How a high-resolution image is cut into square tiles of <see cref="TileSize"/> pixels that overlap by
/// <see cref="Overlap"/>: along each axis the tiles start every <see cref="Step"/> = tile − overlap pixels from 0, and the
/// last one is aligned to the far border (it may overlap its neighbour by more), so the tiles cover every pixel and none
/// reaches outside. A model trained on such tiles scores one tile; <see cref="TiledAnomalyScorer"/> scores a whole image.
/// </summary>
public sealed class ImageTiling : IEquatable<ImageTiling>
{
    /// <summary>Creates a tiling.</summary>
    /// <param name="tileSize">The side of the square tiles in pixels (the model's input size).</param>
    /// <param name="overlap">How many pixels neighbouring tiles share, in [0, <paramref name="tileSize"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">The tile is not positive, or the overlap is negative or not smaller than the tile.</exception>
    public ImageTiling(int tileSize, int overlap)
    {
        if (tileSize < 1) throw new ArgumentOutOfRangeException(nameof(tileSize), tileSize, $"The tile size must be positive (got {tileSize}).");
        if (overlap < 0 || overlap >= tileSize)
        {
            throw new ArgumentOutOfRangeException(nameof(overlap), overlap,
                $"The tile overlap must be at least 0 and smaller than the tile size {tileSize} (got {overlap}): neighbouring tiles would not advance.");
        }
        TileSize = tileSize;
        Overlap = overlap;
    }

    /// <summary>The side of the square tiles in pixels.</summary>
    public int TileSize { get; }

    /// <summary>The pixels neighbouring tiles share (at least; the last tile of a row or column may share more).</summary>
    public int Overlap { get; }

    /// <summary>The distance between the starts of neighbouring tiles: <see cref="TileSize"/> − <see cref="Overlap"/>.</summary>
    public int Step => TileSize - Overlap;

    /// <summary>Throws when the tile is not a multiple of <paramref name="stride"/> (a backbone's deepest stride).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The tile size is not a positive multiple of the stride.</exception>
    public void RequireMultipleOf(int stride)
    {
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "The stride must be positive.");
        if (TileSize % stride != 0)
        {
            int below = Math.Max(stride, TileSize / stride * stride);
            throw new ArgumentOutOfRangeException(nameof(stride), TileSize, string.Create(CultureInfo.InvariantCulture,
                $"The tile size {TileSize} is not a multiple of {stride}, the backbone's deepest stride: U-Flow's feature maps of a tile must halve exactly; for example {below} or {below + stride}."));
        }
    }

    /// <summary>Throws, naming <paramref name="source"/>, when an image of <paramref name="width"/>×<paramref name="height"/> is smaller than one tile.</summary>
    /// <exception cref="ArgumentException">A side is smaller than <see cref="TileSize"/>.</exception>
    public void RequireFits(int width, int height, string source)
    {
        if (width < TileSize || height < TileSize)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{source} is {width}x{height} (W×H), smaller than one {TileSize}x{TileSize} tile; use a smaller tile (a multiple of the backbone's stride) or score it without tiles."));
        }
    }

    /// <summary>The starts of the tiles along an axis of <paramref name="length"/> pixels (at least <see cref="TileSize"/>), increasing; the last is length − tile.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The length is smaller than one tile.</exception>
    public int[] Starts(int length)
    {
        if (length < TileSize) throw new ArgumentOutOfRangeException(nameof(length), length, $"An axis of {length} pixels is smaller than one tile of {TileSize}.");
        int count = 1 + (length - TileSize + Step - 1) / Step; // ceil((length − tile) / step) more after the first
        var starts = new int[count];
        for (int k = 0; k < count - 1; k++) starts[k] = k * Step;
        starts[^1] = length - TileSize;
        return starts;
    }

    /// <summary>The tiles of an image of <paramref name="width"/>×<paramref name="height"/>, row by row (top-left first).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image is smaller than one tile.</exception>
    public IReadOnlyList<ImageTile> Tiles(int width, int height)
    {
        int[] xs = Starts(width), ys = Starts(height);
        var tiles = new List<ImageTile>(xs.Length * ys.Length);
        foreach (int y in ys)
        {
            foreach (int x in xs) tiles.Add(new ImageTile(x, y, TileSize));
        }
        return tiles;
    }

    /// <summary>The number of tiles of an image of <paramref name="width"/>×<paramref name="height"/>.</summary>
    public int Count(int width, int height) => Starts(width).Length * Starts(height).Length;

    /// <summary><c>256/32</c>: tile size and overlap.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{TileSize}/{Overlap}");

    /// <inheritdoc/>
    public bool Equals(ImageTiling? other) => other is not null && other.TileSize == TileSize && other.Overlap == Overlap;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as ImageTiling);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(TileSize, Overlap);
}
