using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Scoring;

/// <summary>
/// A-contrario NFA segmentation of U-Flow latents (METHOD.md A.7, the official "tree" NFA): per scale the
/// chi-square statistic X = Σ_c z², its 4-connected max-tree, log10 PFA per node (Chernoff bound as coded), prune and
/// merge to convergence, final regions (NaN → 0 elsewhere); then upsampling to the map grid (S×S for square latents,
/// else the latents' aspect with the shorter side S: <see cref="MapGrid"/>), minimum over scales and log10 N_T, counted
/// from each scale's real H_l·W_l (A.7.6). The output is −log10 NFA and the mask log10 NFA &lt; log10 ε (ε = 1 by default: NFA &lt; 1).
/// </summary>
/// <remarks>
/// The segmenter owns its work buffers: after the first image of a given set of shapes, segmenting allocates
/// nothing. It is not thread-safe; use one instance per thread.
/// </remarks>
public sealed class NfaSegmenter
{
    private const float LowestFiniteLogPfa = float.MinValue / 8;

    private readonly NfaSegmentationOptions _options;
    private readonly NfaComponentTree _tree = new();
    private readonly float _threshold;
    private float[][] _scaleMaps = [];
    private int[] _scaleHeights = [], _scaleWidths = [];
    private int[] _pixelCounts = [];
    private int _scaleCount;
    private float[] _statistic = [];
    private float[] _filled = [];
    private readonly ScaleMapUpsampler _upsampler = new();
    private double _log10NumberOfTests = double.NaN;

    /// <summary>Creates a segmenter; <paramref name="options"/> is copied (null = defaults).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is invalid.</exception>
    public NfaSegmenter(NfaSegmentationOptions? options = null)
    {
        _options = (options ?? new NfaSegmentationOptions()).Clone();
        _options.Validate();
        _threshold = (float)-Math.Log10(_options.FalseAlarmsPerImage);
    }

    /// <summary>A copy of the options in use.</summary>
    public NfaSegmentationOptions Options => _options.Clone();

    /// <summary>S: the side of the output map (its shorter side for rectangular latents).</summary>
    public int OutputSize => _options.OutputSize;

    /// <summary>The output grid for latents of <paramref name="latentHeight"/>×<paramref name="latentWidth"/> (the finest scale): <see cref="MapGrid.For(int, int, int)"/>.</summary>
    public (int Height, int Width) OutputGrid(int latentHeight, int latentWidth) => MapGrid.For(_options.OutputSize, latentHeight, latentWidth);

    /// <summary>
    /// The detection threshold on −log10 NFA: −log10 ε (0 for the default ε = 1). A pixel is detected when its
    /// −log10 NFA is strictly greater.
    /// </summary>
    public float Threshold => _threshold;

    /// <summary>log10 N_T for the scales of the last image (NaN before the first image).</summary>
    public double Log10NumberOfTests => _log10NumberOfTests;

    /// <summary>The number of scales of the last image.</summary>
    public int ScaleCount => _scaleCount;

    /// <summary>
    /// Diagnostic: the per-scale map of the last image before upsampling (H_l×W_l): the log10 PFA of the final region
    /// containing each pixel, NaN where the pixel belongs to no final region. Valid until the next call.
    /// </summary>
    public ReadOnlySpan<float> ScaleLogPfaMap(int scale)
    {
        if ((uint)scale >= (uint)_scaleCount)
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, $"The last image had {_scaleCount} scales.");
        }
        return _scaleMaps[scale].AsSpan(0, _scaleHeights[scale] * _scaleWidths[scale]);
    }

    /// <summary>
    /// Segments sample <paramref name="sample"/> of the per-scale latents (one NCHW tensor per scale, any order).
    /// Writes −log10 NFA (on the <see cref="OutputGrid"/> of the largest scale, row-major) into
    /// <paramref name="negativeLog10Nfa"/> and the detection mask into <paramref name="mask"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The latents are empty or malformed, or a destination has the wrong length.</exception>
    public NfaImageResult Segment(IReadOnlyList<Tensor> latents, int sample, Span<float> negativeLog10Nfa, Span<bool> mask)
    {
        ArgumentNullException.ThrowIfNull(latents);
        if (latents.Count == 0)
        {
            throw new ArgumentException("At least one latent scale is needed.", nameof(latents));
        }
        for (int l = 0; l < latents.Count; l++)
        {
            Tensor z = latents[l] ?? throw new ArgumentException($"Latent scale {l} is null.", nameof(latents));
            if (z.Rank != 4)
            {
                z.CheckRank4($"latents[{l}]"); // throws with the shape; the message is only built on failure
            }
        }
        var grid = GridOf(latents);
        CheckOutputs(grid, negativeLog10Nfa.Length, mask.Length);
        PrepareScales(latents.Count);
        for (int l = 0; l < latents.Count; l++)
        {
            Tensor z = latents[l];
            if ((uint)sample >= (uint)z.N)
            {
                throw new ArgumentOutOfRangeException(nameof(sample), sample, $"latents[{l}] has {z.N} samples.");
            }
            ProcessScale(l, z.Sample(sample), z.C, z.H, z.W);
        }
        return Combine(grid, negativeLog10Nfa, mask);
    }

    /// <summary>Segments one image given as per-scale C×H×W latents; see <see cref="Segment(IReadOnlyList{Tensor}, int, Span{float}, Span{bool})"/>.</summary>
    public NfaImageResult Segment(ReadOnlySpan<NfaLatentScale> scales, Span<float> negativeLog10Nfa, Span<bool> mask)
    {
        if (scales.IsEmpty)
        {
            throw new ArgumentException("At least one latent scale is needed.", nameof(scales));
        }
        var largest = (Height: 0, Width: 0);
        foreach (NfaLatentScale s in scales)
        {
            if ((long)s.Height * s.Width > (long)largest.Height * largest.Width) largest = (s.Height, s.Width);
        }
        var grid = OutputGrid(largest.Height, largest.Width);
        CheckOutputs(grid, negativeLog10Nfa.Length, mask.Length);
        PrepareScales(scales.Length);
        for (int l = 0; l < scales.Length; l++)
        {
            NfaLatentScale s = scales[l];
            if (s.Values.Length == 0)
            {
                throw new ArgumentException($"Latent scale {l} is empty (default value?).", nameof(scales));
            }
            ProcessScale(l, s.Values.Span, s.Channels, s.Height, s.Width);
        }
        return Combine(grid, negativeLog10Nfa, mask);
    }

    /// <summary>Allocating convenience: segments one sample and returns new arrays on the output grid.</summary>
    public (float[] NegativeLog10Nfa, bool[] Mask, NfaImageResult Summary) Segment(IReadOnlyList<Tensor> latents, int sample)
    {
        ArgumentNullException.ThrowIfNull(latents);
        if (latents.Count == 0 || latents.Any(z => z is null)) throw new ArgumentException("At least one latent scale is needed, and none may be null.", nameof(latents));
        var (height, width) = GridOf(latents);
        int size = height * width;
        var map = new float[size];
        var mask = new bool[size];
        NfaImageResult summary = Segment(latents, sample, map, mask);
        return (map, mask, summary);
    }

    /// <summary>
    /// Segments every sample of a batch of latents (one NCHW tensor per scale, same N): writes −log10 NFA into
    /// <paramref name="negativeLog10Nfa"/> (shape [N, 1, H, W], the output grid) and the masks into <paramref name="masks"/>
    /// (N·H·W values, sample-major), and returns the per-image summaries. With
    /// <paramref name="maxDegreeOfParallelism"/> &gt; 1, images run in parallel on private segmenters with these options.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes or lengths do not match.</exception>
    public NfaImageResult[] SegmentBatch(IReadOnlyList<Tensor> latents, Tensor negativeLog10Nfa, bool[] masks, int maxDegreeOfParallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(latents);
        ArgumentNullException.ThrowIfNull(negativeLog10Nfa);
        ArgumentNullException.ThrowIfNull(masks);
        if (latents.Count == 0 || latents[0] is null)
        {
            throw new ArgumentException("At least one latent scale is needed.", nameof(latents));
        }
        latents[0].CheckRank4("latents[0]");
        int n = latents[0].N;
        for (int l = 1; l < latents.Count; l++)
        {
            Tensor z = latents[l] ?? throw new ArgumentException($"Latent scale {l} is null.", nameof(latents));
            z.CheckRank4($"latents[{l}]");
            if (z.N != n)
            {
                throw new ArgumentException($"latents[{l}] has {z.N} samples but latents[0] has {n}.", nameof(latents));
            }
        }
        var (gridHeight, gridWidth) = GridOf(latents);
        int size = gridHeight * gridWidth;
        negativeLog10Nfa.CheckShape(nameof(negativeLog10Nfa), n, 1, gridHeight, gridWidth);
        if (masks.Length != n * size)
        {
            throw new ArgumentException($"The masks have {masks.Length} values but {n}x{gridHeight}x{gridWidth} = {n * size} are needed.", nameof(masks));
        }
        var results = new NfaImageResult[n];
        if (maxDegreeOfParallelism <= 1 || n <= 1)
        {
            for (int i = 0; i < n; i++)
            {
                results[i] = Segment(latents, i, negativeLog10Nfa.Sample(i), masks.AsSpan(i * size, size));
            }
            return results;
        }
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism },
            () => new NfaSegmenter(_options),
            (i, _, segmenter) =>
            {
                results[i] = segmenter.Segment(latents, i, negativeLog10Nfa.Sample(i), masks.AsSpan(i * size, size));
                return segmenter;
            },
            _ => { });
        return results;
    }

    // The grid of the largest scale; a loop, not LINQ: segmenting allocates nothing after the first image.
    private (int Height, int Width) GridOf(IReadOnlyList<Tensor> latents)
    {
        int height = 0, width = 0;
        for (int l = 0; l < latents.Count; l++)
        {
            Tensor z = latents[l];
            if ((long)z.H * z.W > (long)height * width) (height, width) = (z.H, z.W);
        }
        return OutputGrid(height, width);
    }

    private static void CheckOutputs((int Height, int Width) grid, int mapLength, int maskLength)
    {
        int size = grid.Height * grid.Width;
        if (mapLength != size)
        {
            throw new ArgumentException($"The output map has {mapLength} values but {grid.Height}x{grid.Width} = {size} are needed.", "negativeLog10Nfa");
        }
        if (maskLength != size)
        {
            throw new ArgumentException($"The mask has {maskLength} values but {grid.Height}x{grid.Width} = {size} are needed.", "mask");
        }
    }

    private void PrepareScales(int count)
    {
        if (_scaleMaps.Length < count)
        {
            Array.Resize(ref _scaleMaps, count);
            Array.Resize(ref _scaleHeights, count);
            Array.Resize(ref _scaleWidths, count);
            for (int l = 0; l < count; l++)
            {
                _scaleMaps[l] ??= [];
            }
        }
        _scaleCount = count;
    }

    private void ProcessScale(int scale, ReadOnlySpan<float> latent, int channels, int height, int width)
    {
        int plane = height * width;
        if (_statistic.Length < plane)
        {
            _statistic = new float[plane];
        }
        if (_scaleMaps[scale].Length < plane)
        {
            _scaleMaps[scale] = new float[plane];
        }
        _scaleHeights[scale] = height;
        _scaleWidths[scale] = width;
        Span<float> x = _statistic.AsSpan(0, plane);
        try
        {
            LatentStatistics.SumOfSquares(latent, channels, height, width, x);
            _tree.Build(x, height, width);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Latent scale {scale} ({channels}x{height}x{width}): {e.Message}", e);
        }
        _tree.ComputeFinalRegions(channels, _options.UnderDispersionGuard, _scaleMaps[scale].AsSpan(0, plane));
    }

    private NfaImageResult Combine((int Height, int Width) grid, Span<float> negativeLog10Nfa, Span<bool> mask)
    {
        UpdateNumberOfTests();
        for (int l = 0; l < _scaleCount; l++)
        {
            int h = _scaleHeights[l], w = _scaleWidths[l], plane = h * w;
            if (_filled.Length < plane)
            {
                _filled = new float[plane];
            }
            Span<float> filled = _filled.AsSpan(0, plane);
            ReadOnlySpan<float> map = _scaleMaps[l].AsSpan(0, plane);
            for (int p = 0; p < plane; p++)
            {
                float v = map[p];
                // "No region" ⇒ log PFA = 0, blended at region borders. A region containing an all-zero latent pixel
                // has log PFA = −∞, clamped so that zero interpolation weights never produce 0·∞ = NaN.
                filled[p] = float.IsNaN(v) ? 0f : Math.Max(v, LowestFiniteLogPfa);
            }
            _upsampler.Upsample(filled, h, w, negativeLog10Nfa, grid.Height, grid.Width, _options.Upsampling, accumulateMinimum: l > 0);
        }
        // −log10 NFA = −(log10 N_T + min_l M_l), with log10 N_T cast to float32 as in the official code.
        int detected = NfaOutputPass.Apply(negativeLog10Nfa, (float)_log10NumberOfTests, _threshold, mask, out float max);
        return new NfaImageResult { MaxNegativeLog10Nfa = max, DetectedPixels = detected };
    }

    private void UpdateNumberOfTests()
    {
        bool same = _pixelCounts.Length == _scaleCount;
        for (int l = 0; same && l < _scaleCount; l++)
        {
            same = _pixelCounts[l] == _scaleHeights[l] * _scaleWidths[l];
        }
        if (same && !double.IsNaN(_log10NumberOfTests))
        {
            return;
        }
        _pixelCounts = new int[_scaleCount];
        for (int l = 0; l < _scaleCount; l++)
        {
            _pixelCounts[l] = _scaleHeights[l] * _scaleWidths[l];
        }
        _log10NumberOfTests = NfaNumberOfTests.Log10(_pixelCounts);
    }
}
