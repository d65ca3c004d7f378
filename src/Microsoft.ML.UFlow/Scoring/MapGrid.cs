namespace Microsoft.ML.UFlow.Scoring;

/// <summary>
/// The grid of the anomaly and NFA maps: the input's aspect at a size set by S. For a square latent grid it is S×S, the
/// paper's 256×256 (METHOD.md A.6, Part B). For a rectangular one the shorter side is S and the longer one is S times the
/// aspect, rounded: an input of W×H (multiples of the stride) has latents of the same aspect, so a 320×256 input gives a
/// 320×256 map at S = 256, never a squashed square. Every scale of one image has the same aspect; the largest one sets it.
/// </summary>
public static class MapGrid
{
    /// <summary>The map's height and width for side <paramref name="size"/> and a latent grid of <paramref name="latentHeight"/>×<paramref name="latentWidth"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static (int Height, int Width) For(int size, int latentHeight, int latentWidth)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "The map size must be positive.");
        if (latentHeight < 1 || latentWidth < 1)
            throw new ArgumentOutOfRangeException(nameof(latentHeight), $"The latent grid must be positive; got {latentHeight}x{latentWidth}.");
        if (latentHeight == latentWidth) return (size, size);
        return latentHeight < latentWidth
            ? (size, Longer(size, latentWidth, latentHeight))
            : (Longer(size, latentHeight, latentWidth), size);
    }

    /// <summary>The grid for the largest (finest) of several latent grids.</summary>
    /// <exception cref="ArgumentException">No grids.</exception>
    public static (int Height, int Width) For(int size, IEnumerable<(int Height, int Width)> latentGrids)
    {
        ArgumentNullException.ThrowIfNull(latentGrids);
        (int Height, int Width)? largest = null;
        foreach (var g in latentGrids)
        {
            if (largest is not { } l || (long)g.Height * g.Width > (long)l.Height * l.Width) largest = g;
        }
        if (largest is not { } finest) throw new ArgumentException("At least one latent grid is needed.", nameof(latentGrids));
        return For(size, finest.Height, finest.Width);
    }

    /// <summary>
    /// The height and width of a map of <paramref name="length"/> values whose aspect is that of an input of
    /// <paramref name="inputWidth"/>×<paramref name="inputHeight"/> (made by <see cref="For(int, int, int)"/> for some S),
    /// or null when no S gives that length.
    /// </summary>
    public static (int Height, int Width)? FromLength(int length, int inputWidth, int inputHeight)
    {
        if (length < 1 || inputWidth < 1 || inputHeight < 1) return null;
        int shorter = Math.Min(inputWidth, inputHeight), longer = Math.Max(inputWidth, inputHeight);
        int guess = (int)Math.Round(Math.Sqrt((double)length * shorter / longer));
        for (int s = Math.Max(1, guess - 2); s <= guess + 2; s++)
        {
            var grid = For(s, inputHeight, inputWidth);
            if ((long)grid.Height * grid.Width == length) return grid;
        }
        return null;
    }

    private static int Longer(int size, int longer, int shorter) => (int)Math.Round((double)size * longer / shorter, MidpointRounding.AwayFromZero);
}
