using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Features;

/// <summary>Reshapes vision-transformer tokens to feature maps (METHOD.md A.2.1 step 6).</summary>
public static class TokenMaps
{
    /// <summary>
    /// Turns tokens [B, N, D] (N = H'·W' patches in row-major order) into maps [B, D, H', W'] with
    /// map[b, c, i, j] = tokens[b, i·W' + j, c]. <paramref name="destination"/> is reshaped (its buffer reused when large enough).
    /// </summary>
    /// <exception cref="ArgumentException">The tokens are not rank 3 or N is not <paramref name="height"/>·<paramref name="width"/>.</exception>
    public static void ToMaps(Tensor tokens, int height, int width, Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(destination);
        if (tokens.Rank != 3) throw new ArgumentException($"Tokens must be [B, N, D]; got {tokens}.", nameof(tokens));
        int b = tokens.Shape[0], n = tokens.Shape[1], d = tokens.Shape[2];
        if (n != height * width) throw new ArgumentException($"{n} tokens cannot form a {height}x{width} map.", nameof(tokens));
        if (ReferenceEquals(tokens, destination)) throw new ArgumentException("Tokens and destination must differ.", nameof(destination));
        destination.EnsureShape(b, d, height, width);
        const int Tile = 32; // transpose N x D per sample in tiles that stay in L1
        for (int s = 0; s < b; s++)
        {
            ReadOnlySpan<float> src = tokens.Span.Slice(s * n * d, n * d);
            Span<float> dst = destination.Span.Slice(s * n * d, n * d);
            for (int n0 = 0; n0 < n; n0 += Tile)
            {
                int n1 = Math.Min(n, n0 + Tile);
                for (int c0 = 0; c0 < d; c0 += Tile)
                {
                    int c1 = Math.Min(d, c0 + Tile);
                    for (int t = n0; t < n1; t++)
                    {
                        for (int c = c0; c < c1; c++) dst[c * n + t] = src[t * d + c];
                    }
                }
            }
        }
    }

    /// <summary>The side of a square grid of <paramref name="tokenCount"/> patches, or an exception when it is not a square.</summary>
    public static int SquareSide(int tokenCount)
    {
        int side = (int)Math.Round(Math.Sqrt(tokenCount));
        if (side * side != tokenCount) throw new ArgumentException($"{tokenCount} tokens do not form a square grid.", nameof(tokenCount));
        return side;
    }
}
