using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows;

/// <summary>
/// FrEIA's <c>IRevNetUpsampling</c> (METHOD.md A.3.2): 4K channels at H×W become K channels at 2H×2W with PixelShuffle(2)
/// ordering, out[k, 2i + dy, 2j + dx] = in[4k + 2·dy + dx, i, j]. A pure re-indexing, so its log-det is 0, its inverse
/// is the reverse gather and its backward is the inverse applied to the gradient.
/// </summary>
public static class InvertibleUpsampling
{
    /// <summary>
    /// Upsamples channels [sourceStart, sourceStart + 4K) of <paramref name="source"/> into channels
    /// [destinationStart, destinationStart + K) of <paramref name="destination"/> (which is 2H×2W).
    /// </summary>
    public static void Forward(Tensor source, int sourceStart, int sourceChannels, Tensor destination, int destinationStart)
    {
        Check(source, sourceStart, sourceChannels, destination, destinationStart);
        int h = source.H, w = source.W, k = sourceChannels / 4;
        FlowParallel.For(source.N * k, 4 * h * w, nk =>
        {
            int n = nk / k, c = nk % k;
            Span<float> dst = destination.Plane(n, destinationStart + c);
            for (int q = 0; q < 4; q++)
            {
                int dy = q >> 1, dx = q & 1;
                ReadOnlySpan<float> src = source.Plane(n, sourceStart + 4 * c + q);
                for (int i = 0; i < h; i++)
                {
                    int row = (2 * i + dy) * (2 * w) + dx;
                    ReadOnlySpan<float> srow = src.Slice(i * w, w);
                    for (int j = 0; j < w; j++) dst[row + 2 * j] = srow[j];
                }
            }
        });
    }

    /// <summary>
    /// The inverse (also the backward pass): channels [sourceStart, sourceStart + K) of <paramref name="source"/> (2H×2W)
    /// go back to channels [destinationStart, destinationStart + 4K) of <paramref name="destination"/> (H×W).
    /// </summary>
    public static void Inverse(Tensor source, int sourceStart, int sourceChannels, Tensor destination, int destinationStart)
    {
        source.CheckRank4(nameof(source));
        destination.CheckRank4(nameof(destination));
        if (sourceStart < 0 || sourceChannels < 0 || sourceStart > source.C - sourceChannels)
        {
            throw new ArgumentException($"Source channels [{sourceStart}, {sourceStart + (long)sourceChannels}) are outside {source}.", nameof(sourceStart));
        }
        int h = destination.H, w = destination.W, k = sourceChannels;
        if (destinationStart < 0 || source.H != 2 * h || source.W != 2 * w || source.N != destination.N || destinationStart + 4 * k > destination.C || sourceStart + k > source.C)
        {
            throw new ArgumentException($"Cannot downsample {k} channels of {source} into {destination} at channel {destinationStart}.", nameof(destination));
        }
        FlowParallel.For(source.N * k, 4 * h * w, nk =>
        {
            int n = nk / k, c = nk % k;
            ReadOnlySpan<float> src = source.Plane(n, sourceStart + c);
            for (int q = 0; q < 4; q++)
            {
                int dy = q >> 1, dx = q & 1;
                Span<float> dst = destination.Plane(n, destinationStart + 4 * c + q);
                for (int i = 0; i < h; i++)
                {
                    int row = (2 * i + dy) * (2 * w) + dx;
                    Span<float> drow = dst.Slice(i * w, w);
                    for (int j = 0; j < w; j++) drow[j] = src[row + 2 * j];
                }
            }
        });
    }

    private static void Check(Tensor source, int sourceStart, int sourceChannels, Tensor destination, int destinationStart)
    {
        source.CheckRank4(nameof(source));
        destination.CheckRank4(nameof(destination));
        if (sourceStart < 0 || sourceChannels < 0 || sourceStart > source.C - sourceChannels)
        {
            throw new ArgumentException($"Source channels [{sourceStart}, {sourceStart + (long)sourceChannels}) are outside {source}.", nameof(sourceStart));
        }
        if (sourceChannels % 4 != 0)
        {
            throw new ArgumentException($"Invertible upsampling needs a multiple of 4 channels; got {sourceChannels}.", nameof(sourceChannels));
        }
        if (destination.H != 2 * source.H || destination.W != 2 * source.W || destination.N != source.N || destinationStart < 0 || destinationStart + sourceChannels / 4 > destination.C)
        {
            throw new ArgumentException($"Cannot upsample {sourceChannels} channels of {source} into {destination} at channel {destinationStart}.", nameof(destination));
        }
    }
}
