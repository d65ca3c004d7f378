using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.UFlow.Imaging;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Reads the ground-truth masks named by a <c>MaskPath</c> column at the anomaly map's size, as the metrics see them
/// (METHOD.md Part B): resized like the image to the model's input size, then to the map size, binarised at &gt; 0.5;
/// an empty path is an all-normal mask.
/// </summary>
internal sealed class GroundTruthReader
{
    private readonly int _inputSize;

    private GroundTruthReader(int inputSize) => _inputSize = inputSize;

    /// <summary>The input size: <paramref name="inputSize"/> when given, else the side of the data's <c>Image</c> column when
    /// it has a known size, else the map size.</summary>
    public static GroundTruthReader For(DataViewSchema schema, int mapSize, int? inputSize)
    {
        if (inputSize is int given)
        {
            if (given < 1) throw new ArgumentOutOfRangeException(nameof(inputSize), given, "The input size must be positive.");
            return new GroundTruthReader(given);
        }
        var image = schema.GetColumnOrNull(AnomalyColumns.Image);
        return new GroundTruthReader(image?.Type is ImageDataViewType { Height: > 0 } t ? t.Height : mapSize);
    }

    public void Read(string maskPath, int mapSize, Span<float> destination)
    {
        if (string.IsNullOrEmpty(maskPath))
        {
            destination.Clear();
            return;
        }
        if (!File.Exists(maskPath)) throw new FileNotFoundException($"The ground-truth mask '{maskPath}' does not exist.", maskPath);
        GroundTruthMask.Prepare(ImageDecoder.Decode(maskPath), _inputSize, mapSize, destination);
    }
}
