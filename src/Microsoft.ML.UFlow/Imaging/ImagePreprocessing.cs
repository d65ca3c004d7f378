using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// U-Flow's input pre-processing (METHOD.md A.1) in one call: decode, torchvision <c>Resize(size)</c> on the PIL image
/// (shorter side to <c>size</c>, PIL antialiased bilinear, bit-exact), RGB (grey replicated), ImageNet normalisation.
/// Ground-truth masks get the same resize in mode L and are scaled to [0, 1].
/// </summary>
internal static class ImagePreprocessing
{
    /// <summary>The input size of the U-Flow MS-CaiT configuration (448).</summary>
    public const int UFlowInputSize = 448;

    /// <summary>Returns the normalised image as a [1, 3, H, W] tensor (H = W = <paramref name="size"/> for square images).</summary>
    /// <exception cref="ImageDecodeException">The file is corrupt or unsupported.</exception>
    public static Tensor LoadImage(string path, int size = UFlowInputSize)
    {
        Image resized = ResizeForModel(ImageDecoder.Decode(path), size);
        return ImageNormalization.ToTensor(resized);
    }

    /// <summary>
    /// Writes the normalised image, resized to exactly the tensor's H × W (torchvision <c>Resize((H, W))</c>, PIL
    /// bilinear), into sample <paramref name="batchIndex"/> of a [N, 3, H, W] tensor.
    /// </summary>
    /// <exception cref="ImageDecodeException">The file is corrupt or unsupported.</exception>
    /// <exception cref="ArgumentException">The tensor is not [N, 3, H, W] or the index is out of range.</exception>
    public static void LoadImageInto(string path, Tensor batch, int batchIndex)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Rank != 4 || batch.C != 3) throw new ArgumentException("The batch tensor must be [N, 3, H, W].", nameof(batch));
        Image image = ImageDecoder.Decode(path);
        Image source = image.Channels switch { 2 => image.ToGrey(), 4 => image.ToRgb(), _ => image };
        ImageNormalization.ToTensor(ImageResize.Bilinear(source, batch.W, batch.H), batch, batchIndex);
    }

    /// <summary>
    /// Resizes a decoded image the way the model input is prepared: grey stays one channel (its RGB conversion
    /// would replicate it, and the normalisation does that), alpha is dropped like PIL's <c>convert("RGB")</c>.
    /// </summary>
    public static Image ResizeForModel(Image image, int size = UFlowInputSize)
    {
        ArgumentNullException.ThrowIfNull(image);
        Image source = image.Channels switch { 2 => image.ToGrey(), 4 => image.ToRgb(), _ => image };
        return ImageResize.ShorterSideTo(source, size);
    }

    /// <summary>
    /// Loads a ground-truth mask: converted to grey (PIL <c>convert("L")</c>), shorter side resized to
    /// <paramref name="size"/> with PIL bilinear in mode L, divided by 255. Returns H·W values in [0, 1], row-major.
    /// </summary>
    /// <exception cref="ImageDecodeException">The file is corrupt or unsupported.</exception>
    public static float[] LoadMask(string path, out int width, out int height, int size = UFlowInputSize)
    {
        Image mask = ImageResize.ShorterSideTo(ImageDecoder.Decode(path).ToGrey(), size);
        width = mask.Width;
        height = mask.Height;
        var values = new float[mask.Pixels.Length];
        for (int i = 0; i < values.Length; i++) values[i] = mask.Pixels[i] / 255f;
        return values;
    }
}
