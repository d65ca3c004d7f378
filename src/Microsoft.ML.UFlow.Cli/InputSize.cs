using System.Globalization;
using Microsoft.ML.UFlow.Imaging;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>
/// The width × height the pipeline resizes images to: <c>--input-size 320x256</c> (W×H) or <c>--input-size 256</c> (a
/// square), or, when not given, the aspect-preserving default chosen from the training images (<see cref="FromAspect"/>).
/// </summary>
internal readonly record struct InputSize(int Width, int Height)
{
    /// <summary>A square of side <paramref name="side"/>.</summary>
    public static implicit operator InputSize(int side) => new(side, side);

    /// <summary>Whether the size is a square.</summary>
    public bool IsSquare => Width == Height;

    /// <summary>Width / height.</summary>
    public double Aspect => (double)Width / Height;

    /// <summary><c>WxH</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Width}x{Height}");

    /// <summary>Parses <c>W</c>x<c>H</c> or one side.</summary>
    /// <exception cref="ArgumentException">Not of that form, or not positive.</exception>
    public static InputSize Parse(string text)
    {
        string[] parts = text.Trim().Split('x', 'X', '×');
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0))
        {
            int width = int.Parse(parts[0], CultureInfo.InvariantCulture);
            return new InputSize(width, parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : width);
        }
        throw new ArgumentException($"--input-size must be WIDTHxHEIGHT (for example 320x256) or one side for a square (for example 256), not '{text}'.");
    }

    /// <summary>Throws when a side is not a positive multiple of <paramref name="stride"/>.</summary>
    public void Validate(int stride, string why)
    {
        if (Width < stride || Height < stride || Width % stride != 0 || Height % stride != 0)
        {
            throw new ArgumentOutOfRangeException("--input-size", this,
                $"--input-size {this}: width and height must be positive multiples of {stride} ({why}); for example {Round(Width, stride)}x{Round(Height, stride)}.");
        }
    }

    /// <summary>
    /// The aspect-preserving default: of the sizes whose sides are multiples of <paramref name="stride"/> near
    /// √(median aspect)·<paramref name="side"/> × <paramref name="side"/>/√(median aspect), the one with the least
    /// |ln(aspect / median aspect)| + ½·|ln(pixels / <paramref name="side"/>²)|: the aspect counts twice as much as the
    /// pixel count (about ± 15 %), since distorting the parts is what the default avoids. Square images give exactly
    /// <paramref name="side"/>×<paramref name="side"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No sizes.</exception>
    public static (InputSize Size, double MedianAspect) FromAspect(IEnumerable<(int Width, int Height)> sizes, int side, int stride)
    {
        double[] aspects = sizes.Select(s => (double)s.Width / s.Height).Order().ToArray();
        if (aspects.Length == 0) throw new ArgumentException("There are no training images to choose the input size from.");
        int mid = aspects.Length / 2;
        double median = aspects.Length % 2 == 1 ? aspects[mid] : Math.Sqrt(aspects[mid - 1] * aspects[mid]);
        double width = side * Math.Sqrt(median), height = side / Math.Sqrt(median), pixels = (double)side * side;
        InputSize best = new(Round(width, stride), Round(height, stride));
        double bestCost = double.PositiveInfinity;
        foreach (int w in Near(width, stride))
        {
            foreach (int h in Near(height, stride))
            {
                double cost = Math.Abs(Math.Log((double)w / h / median)) + 0.5 * Math.Abs(Math.Log(w * (double)h / pixels));
                if (cost < bestCost - 1e-12)
                {
                    (best, bestCost) = (new InputSize(w, h), cost);
                }
            }
        }
        return (best, median);
    }

    /// <summary>
    /// The size to use: <paramref name="given"/> when there is one, else the aspect-preserving default
    /// (<see cref="FromAspect"/>) of the images at <paramref name="imagePaths"/>, read from their headers; with a sentence
    /// that says how the default was chosen (null for a given size). <c>uflow train</c> and <c>uflow bench knn</c> share it.
    /// </summary>
    /// <exception cref="ArgumentException">No size given and no images.</exception>
    public static (InputSize Size, string? Description) Choose(InputSize? given, IEnumerable<string> imagePaths, int side, int stride)
    {
        if (given is InputSize size) return (size, null);
        var sizes = imagePaths.Select(ImageDecoder.ReadSize).ToList();
        var (chosen, median) = FromAspect(sizes, side, stride);
        int distinct = sizes.Distinct().Count();
        return (chosen, $"input size {chosen} (W×H) from the training images' median aspect {median.ToString("0.###", CultureInfo.InvariantCulture)} " +
                        $"({distinct} distinct size{(distinct == 1 ? "" : "s")}) at about {side}² pixels; --input-size sets it");
    }

    // The multiples of the stride from one below the floor to one above the ceiling of value (at least one stride).
    private static IEnumerable<int> Near(double value, int stride)
    {
        int low = (int)Math.Floor(value / stride);
        for (int k = Math.Max(1, low - 1); k <= low + 2; k++) yield return k * stride;
    }

    private static int Round(double value, int stride) => Math.Max(stride, (int)Math.Round(value / stride, MidpointRounding.AwayFromZero) * stride);
}
