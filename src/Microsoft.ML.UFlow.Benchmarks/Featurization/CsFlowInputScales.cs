using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Benchmarks.Featurization;

/// <summary>
/// CS-Flow's three input scales (METHOD.md C.1): the normalised image at full size, and copies at 1/2 and 1/4 made
/// from the <b>normalised</b> tensor by nearest-neighbour sampling (PyTorch <c>F.interpolate</c> default mode,
/// source index ⌊dst · in/out⌋), each then passed through the same backbone.
/// </summary>
internal static class CsFlowInputScales
{
    /// <summary>
    /// Nearest-neighbour resize of an NCHW tensor as PyTorch's <c>F.interpolate(mode='nearest')</c> with a target size:
    /// source index = min(⌊dst · (in/out)⌋, in − 1) with the scale computed in float32.
    /// </summary>
    public static Tensor NearestResize(Tensor input, int outHeight, int outWidth)
    {
        ArgumentNullException.ThrowIfNull(input);
        input.CheckRank4(nameof(input));
        if (outHeight <= 0 || outWidth <= 0) throw new ArgumentOutOfRangeException(nameof(outHeight), $"The target size must be positive (got {outHeight}x{outWidth}).");
        int h = input.H, w = input.W;
        int[] rows = SourceIndices(h, outHeight), cols = SourceIndices(w, outWidth);
        var output = new Tensor(input.N, input.C, outHeight, outWidth);
        for (int n = 0; n < input.N; n++)
        {
            for (int c = 0; c < input.C; c++)
            {
                ReadOnlySpan<float> src = input.Plane(n, c);
                Span<float> dst = output.Plane(n, c);
                for (int y = 0; y < outHeight; y++)
                {
                    ReadOnlySpan<float> row = src.Slice(rows[y] * w, w);
                    Span<float> outRow = dst.Slice(y * outWidth, outWidth);
                    for (int x = 0; x < outWidth; x++) outRow[x] = row[cols[x]];
                }
            }
        }
        return output;
    }

    /// <summary>
    /// The three input scales of a normalised NCHW image batch: the input itself, and nearest-neighbour copies of size
    /// ⌊H/2⌋×⌊W/2⌋ and ⌊H/4⌋×⌊W/4⌋.
    /// </summary>
    public static Tensor[] Make(Tensor normalized)
    {
        ArgumentNullException.ThrowIfNull(normalized);
        normalized.CheckRank4(nameof(normalized));
        if (normalized.H < 4 || normalized.W < 4) throw new ArgumentException($"The input {normalized} is too small for three scales.", nameof(normalized));
        return [normalized, NearestResize(normalized, normalized.H / 2, normalized.W / 2), NearestResize(normalized, normalized.H / 4, normalized.W / 4)];
    }

    /// <summary>
    /// Runs <paramref name="featurizer"/> (any backbone: NCHW image batch → NCHW feature batch) on each of the three
    /// input scales and returns the three feature tensors, checked to share the channel count and to halve in size.
    /// The featurizer's results are copied if it returns the same tensor object twice.
    /// </summary>
    /// <exception cref="ArgumentException">The feature maps do not have a common channel count or do not halve exactly.</exception>
    public static Tensor[] ExtractFeatures(Tensor normalized, Func<Tensor, Tensor> featurizer)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        Tensor[] inputs = Make(normalized);
        var features = new Tensor[3];
        for (int s = 0; s < 3; s++)
        {
            Tensor f = featurizer(inputs[s]) ?? throw new InvalidOperationException($"The featurizer returned null for scale {s}.");
            features[s] = Array.IndexOf(features, f, 0, s) >= 0 || ReferenceEquals(f, inputs[s]) ? f.Clone() : f;
        }
        CheckScales(features, features[0].C, "features");
        return features;
    }

    /// <summary>Checks that <paramref name="t"/> holds three NCHW tensors of one batch and <paramref name="channels"/> channels whose sizes halve exactly from scale to scale.</summary>
    internal static void CheckScales(IReadOnlyList<Tensor> t, int channels, string name)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (t.Count != 3) throw new ArgumentException($"'{name}' must hold 3 tensors (scales 0, 1, 2) but holds {t.Count}.", name);
        for (int s = 0; s < 3; s++)
        {
            t[s].CheckRank4($"{name}[{s}]");
            if (t[s].C != channels) throw new ArgumentException($"'{name}[{s}]' has shape {t[s]} but {channels} channels were expected.", name);
            if (t[s].N != t[0].N) throw new ArgumentException($"'{name}[{s}]' has shape {t[s]} but the batch of scale 0 is {t[0].N}.", name);
        }
        for (int s = 1; s < 3; s++)
        {
            if (t[s - 1].H != 2 * t[s].H || t[s - 1].W != 2 * t[s].W)
            {
                throw new ArgumentException(
                    $"'{name}': scale {s - 1} is {t[s - 1].H}x{t[s - 1].W} and scale {s} is {t[s].H}x{t[s].W}; each scale must be exactly half the previous one " +
                    "(use an input size whose feature map at scale 0 is divisible by 4).", name);
            }
        }
    }

    private static int[] SourceIndices(int inSize, int outSize)
    {
        var idx = new int[outSize];
        float scale = (float)inSize / outSize;
        for (int o = 0; o < outSize; o++) idx[o] = Math.Min((int)MathF.Floor(o * scale), inSize - 1);
        return idx;
    }
}
