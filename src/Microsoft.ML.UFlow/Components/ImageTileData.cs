using Microsoft.ML.Data;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Cuts image files into the tiles of an <see cref="ImageTiling"/>, as ML.NET data: the training rows of a tiled model
/// (every tile of every normal image is one row) and the rows <see cref="TiledAnomalyScorer"/> scores.
/// </summary>
public static class ImageTileData
{
    /// <summary>The tile's left column (Int32).</summary>
    public const string TileX = "TileX";

    /// <summary>The tile's top row (Int32).</summary>
    public const string TileY = "TileY";

    /// <summary>
    /// The tiles of <paramref name="imagePaths"/>, image by image and row by row: <c>ImagePath</c> (text, the source file),
    /// <c>TileX</c>, <c>TileY</c> (Int32) and <c>Image</c> (an image of <see cref="ImageTiling.TileSize"/>², what
    /// <c>ResizeImages</c> and the featurizers read). Images are decoded when a cursor reaches their tiles, one at a time.
    /// Fit a pipeline that starts at <c>ResizeImages</c> (to the tile size) on it, with
    /// <see cref="UFlowTrainer.Options.Tiling"/> set to <paramref name="tiling"/> so that the model records it.
    /// </summary>
    /// <param name="imagePaths">The image files (PNG, JPEG, BMP).</param>
    /// <param name="tiling">The tiles to cut.</param>
    /// <exception cref="FileNotFoundException">An image does not exist.</exception>
    /// <exception cref="InvalidDataException">A file is not an image.</exception>
    /// <exception cref="ArgumentException">An image is smaller than one tile (the message names it).</exception>
    public static IDataView Load(IEnumerable<string> imagePaths, ImageTiling tiling) => new ImageTileDataView(imagePaths, tiling);

    // Copies the tile's rows out of the decoded source (32-bit pixels, as MLImage holds them).
    internal static MLImage Crop(MLImage source, ImageTile tile)
    {
        if (tile.X < 0 || tile.Y < 0 || tile.X + tile.Size > source.Width || tile.Y + tile.Size > source.Height)
            throw new ArgumentOutOfRangeException(nameof(tile), $"The tile at ({tile.X}, {tile.Y}) of side {tile.Size} reaches outside the {source.Width}x{source.Height} image.");
        int bytesPerPixel = source.BitsPerPixel / 8;
        ReadOnlySpan<byte> pixels = source.Pixels;
        int sourceRow = source.Width * bytesPerPixel, tileRow = tile.Size * bytesPerPixel;
        var buffer = new byte[tileRow * tile.Size];
        for (int y = 0; y < tile.Size; y++)
        {
            pixels.Slice((tile.Y + y) * sourceRow + tile.X * bytesPerPixel, tileRow).CopyTo(buffer.AsSpan(y * tileRow, tileRow));
        }
        return MLImage.CreateFromPixels(tile.Size, tile.Size, source.PixelFormat, buffer);
    }
}
