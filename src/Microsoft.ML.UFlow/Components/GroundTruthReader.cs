using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Reads the ground-truth masks named by a <c>MaskPath</c> column at the anomaly map's grid, as the metrics see them
/// (METHOD.md Part B): resized like the image to the model's input width × height, then to the map grid, binarised at
/// &gt; 0.5; an empty path is an all-normal mask.
/// </summary>
internal sealed class GroundTruthReader
{
    private readonly int _inputWidth, _inputHeight;

    private GroundTruthReader(int inputWidth, int inputHeight)
    {
        _inputWidth = inputWidth;
        _inputHeight = inputHeight;
    }

    /// <summary>
    /// The input size: <paramref name="inputWidth"/> × <paramref name="inputHeight"/> when given (one alone is a square),
    /// else the size of the data's <c>Image</c> column when it is known, else the map grid.
    /// </summary>
    public static GroundTruthReader For(DataViewSchema schema, (int Height, int Width) map, int? inputWidth, int? inputHeight)
    {
        if (InputSize(schema, inputWidth, inputHeight) is { } given) return new GroundTruthReader(given.Width, given.Height);
        return new GroundTruthReader(map.Width, map.Height);
    }

    /// <summary>The input size given by the caller or the <c>Image</c> column, or null when neither says.</summary>
    public static (int Width, int Height)? InputSize(DataViewSchema schema, int? inputWidth, int? inputHeight)
    {
        if (inputWidth is not null || inputHeight is not null)
        {
            int width = inputWidth ?? inputHeight!.Value, height = inputHeight ?? width;
            if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(inputWidth), $"The input size must be positive; got {width}x{height}.");
            return (width, height);
        }
        return schema.GetColumnOrNull(AnomalyColumns.Image)?.Type is ImageDataViewType { Height: > 0, Width: > 0 } t ? (t.Width, t.Height) : null;
    }

    /// <summary>
    /// The map grid of a map column of <paramref name="length"/> values: its declared 2-D dimensions, else a square, else
    /// the grid of the input's aspect (<see cref="MapGrid.FromLength"/>).
    /// </summary>
    public static (int Height, int Width) MapGridOf(int length, VectorDataViewType? type, (int Width, int Height)? input, string column)
    {
        // OnnxTransformer declares [1, H, W] (the batch kept), a VectorType attribute [H, W]: the last two are the grid.
        if (type is { Dimensions.Length: >= 2 } v)
        {
            int h = v.Dimensions[^2], w = v.Dimensions[^1];
            if (h > 0 && w > 0 && h * w == length) return (h, w);
        }
        if (input is { } size && MapGrid.FromLength(length, size.Width, size.Height) is { } grid) return grid;
        int side = (int)Math.Round(Math.Sqrt(length));
        if (length > 0 && side * side == length) return (side, side);
        throw new ArgumentException(input is { } i
            ? $"Column '{column}' holds {length} values per row, which is no map grid of the input's {i.Width}x{i.Height} aspect."
            : $"Column '{column}' holds {length} values per row, not a square map; give the input width and height so that the map's aspect is known.");
    }

    public void Read(string maskPath, (int Height, int Width) map, Span<float> destination)
    {
        if (string.IsNullOrEmpty(maskPath))
        {
            destination.Clear();
            return;
        }
        if (!File.Exists(maskPath)) throw new FileNotFoundException($"The ground-truth mask '{maskPath}' does not exist.", maskPath);
        GroundTruthMask.Prepare(ImageDecoder.Decode(maskPath), _inputWidth, _inputHeight, map.Height, map.Width, destination);
    }
}
