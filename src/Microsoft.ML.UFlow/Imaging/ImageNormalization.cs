using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// Converts 8-bit images to the normalised float input of the ImageNet backbones (METHOD.md A.1 steps 3–4), exactly
/// as torchvision's <c>ToTensor</c> then <c>Normalize</c> compute it in float32: v = (b / 255 − mean[c]) / std[c],
/// planar CHW. Grey images are replicated to 3 channels and alpha is dropped.
/// </summary>
internal static class ImageNormalization
{
    /// <summary>ImageNet channel means (R, G, B): 0.485, 0.456, 0.406.</summary>
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet channel standard deviations (R, G, B): 0.229, 0.224, 0.225.</summary>
    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    private static readonly float[] s_imageNetTable = BuildTable(ImageNetMean, ImageNetStd);

    /// <summary>Writes the ImageNet-normalised 3×H×W planes of <paramref name="image"/> to <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The destination is not exactly 3·H·W long.</exception>
    public static void ToChw(Image image, Span<float> destination) => Apply(image, destination, s_imageNetTable);

    /// <summary>As <see cref="ToChw(Image, Span{float})"/> with custom per-channel mean and standard deviation (3 values each).</summary>
    public static void ToChw(Image image, Span<float> destination, ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        if (mean.Length != 3 || std.Length != 3) throw new ArgumentException("mean and std need 3 values (R, G, B).");
        Apply(image, destination, BuildTable([mean[0], mean[1], mean[2]], [std[0], std[1], std[2]]));
    }

    /// <summary>Returns a new [1, 3, H, W] tensor holding the ImageNet-normalised image.</summary>
    public static Tensor ToTensor(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var t = new Tensor(1, 3, image.Height, image.Width);
        ToChw(image, t.Span);
        return t;
    }

    /// <summary>Writes the ImageNet-normalised image into sample <paramref name="batchIndex"/> of a [N, 3, H, W] tensor.</summary>
    /// <exception cref="ArgumentException">The tensor is not [N, 3, H, W] with the image's H and W, or the index is out of range.</exception>
    public static void ToTensor(Image image, Tensor destination, int batchIndex)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Rank != 4 || destination.C != 3 || destination.H != image.Height || destination.W != image.Width)
        {
            throw new ArgumentException($"Destination must be [N, 3, {image.Height}, {image.Width}].", nameof(destination));
        }
        if ((uint)batchIndex >= (uint)destination.N) throw new ArgumentOutOfRangeException(nameof(batchIndex));
        ToChw(image, destination.Sample(batchIndex));
    }

    /// <summary>Per channel, the float32 value of every byte: ((float)b / 255f − mean) / std, torch's operation order.</summary>
    private static float[] BuildTable(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        var table = new float[3 * 256];
        for (int c = 0; c < 3; c++)
        {
            for (int b = 0; b < 256; b++)
            {
                float x = (float)b / 255f;
                table[c * 256 + b] = (x - mean[c]) / std[c];
            }
        }
        return table;
    }

    private static void Apply(Image image, Span<float> destination, float[] table)
    {
        ArgumentNullException.ThrowIfNull(image);
        int plane = image.Width * image.Height;
        if (destination.Length != 3 * plane)
        {
            throw new ArgumentException($"Destination has {destination.Length} floats; a {image.Width}x{image.Height} image needs {3 * plane}.", nameof(destination));
        }
        ReadOnlySpan<byte> px = image.Pixels;
        ReadOnlySpan<float> t0 = table.AsSpan(0, 256), t1 = table.AsSpan(256, 256), t2 = table.AsSpan(512, 256);
        Span<float> r = destination[..plane], g = destination.Slice(plane, plane), b = destination.Slice(2 * plane, plane);
        int c = image.Channels;
        if (c <= 2)
        {
            for (int i = 0; i < plane; i++)
            {
                byte v = px[i * c];
                r[i] = t0[v]; g[i] = t1[v]; b[i] = t2[v];
            }
            return;
        }
        for (int i = 0, o = 0; i < plane; i++, o += c)
        {
            r[i] = t0[px[o]]; g[i] = t1[px[o + 1]]; b[i] = t2[px[o + 2]];
        }
    }
}
