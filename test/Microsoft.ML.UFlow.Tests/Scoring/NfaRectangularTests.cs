using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Scoring;

/// <summary>
/// The NFA tree on rectangular latents (METHOD.md A.7 on H ≠ W): the number of tests from the real H_l·W_l, a planted
/// rectangle found at its position on a map of the input's aspect, and the grids of the tensor, span and batch entry points.
/// </summary>
public sealed class NfaRectangularTests
{
    // A 320x256 (W×H) input at strides 4 and 8: fine 64x80, coarse 32x40 (H×W); MS-CaiT's channel counts.
    private const int FineChannels = 816, FineHeight = 64, FineWidth = 80, CoarseChannels = 192;

    [Fact]
    public void The_number_of_tests_of_a_rectangular_map_is_the_formula_on_its_H_times_W()
    {
        // A.7.6: N_T = Σ_l H_l·W_l · Σ_{n=1}^{H_l·W_l} α·βⁿ/n, summed directly in double for small maps.
        static double Direct(params int[] pixels)
        {
            double total = 0;
            foreach (int a in pixels)
            {
                double inner = 0;
                for (int n = 1; n <= a; n++) inner += NfaNumberOfTests.PolyominoAlpha * Math.Pow(NfaNumberOfTests.PolyominoBeta, n) / n;
                total += a * inner;
            }
            return Math.Log10(total);
        }
        var segmenter = new NfaSegmenter(new NfaSegmentationOptions { OutputSize = 12 });
        var rng = new SeededRandom(5);
        Tensor[] latents = [new Tensor(1, 5, 4, 6), new Tensor(1, 7, 2, 3)];
        foreach (Tensor z in latents) NfaSegmenterTests.FillGaussian(z.Span, rng, 1.0);
        var (map, mask, _) = segmenter.Segment(latents, 0);
        Assert.Equal(12 * 18, map.Length);
        Assert.Equal(12 * 18, mask.Length);
        Assert.Equal(Direct(24, 6), segmenter.Log10NumberOfTests, 10);
        // Not the square of either side: a 4x6 map is neither 4x4 nor 6x6.
        Assert.NotEqual(Direct(16, 4), segmenter.Log10NumberOfTests, 3);
        Assert.NotEqual(Direct(36, 9), segmenter.Log10NumberOfTests, 3);
        // Large maps: the library's log-space sum against the same formula on 64·80 and 32·40 pixels is checked by
        // NfaNumberOfTestsTests; here the segmenter must use those products.
        var big = new NfaSegmenter();
        Tensor[] rect = [new Tensor(1, FineChannels, FineHeight, FineWidth), new Tensor(1, CoarseChannels, FineHeight / 2, FineWidth / 2)];
        foreach (Tensor z in rect) NfaSegmenterTests.FillGaussian(z.Span, rng, 1.0);
        big.Segment(rect, 0);
        Assert.Equal(NfaNumberOfTests.Log10([FineHeight * FineWidth, FineHeight * FineWidth / 4]), big.Log10NumberOfTests, 12);
    }

    [Theory]
    [InlineData(NfaUpsampling.Bilinear)]
    [InlineData(NfaUpsampling.Nearest)]
    public void A_planted_rectangle_is_found_at_its_position_on_a_map_of_the_input_aspect(NfaUpsampling upsampling)
    {
        // Rows 40..49, columns 56..71 of the 64x80 fine grid (a 16 wide × 10 high block near the bottom right, which a
        // transposed or squashed map would put elsewhere), z ~ N(0, 3) there and under it on the coarse grid: with
        // 5120 + 1280 pixels log10 N_T ≈ 3120 (5120·log10 β), and the block's log10 PFA ≈ −18 000.
        const int Row = 40, Column = 56, Height = 10, Width = 16;
        var segmenter = new NfaSegmenter(new NfaSegmentationOptions { Upsampling = upsampling });
        Assert.Equal((256, 320), segmenter.OutputGrid(FineHeight, FineWidth));
        double iouSum = 0;
        const int Images = 4;
        for (ulong seed = 300; seed < 300 + Images; seed++)
        {
            var rng = new SeededRandom(seed);
            Tensor[] latents = [new Tensor(1, FineChannels, FineHeight, FineWidth), new Tensor(1, CoarseChannels, FineHeight / 2, FineWidth / 2)];
            foreach (Tensor z in latents) NfaSegmenterTests.FillGaussian(z.Span, rng, 1.0);
            foreach (Tensor z in latents)
            {
                int factor = FineHeight / z.H;
                for (int c = 0; c < z.C; c++)
                    for (int i = Row / factor; i < (Row + Height) / factor; i++)
                        for (int j = Column / factor; j < (Column + Width) / factor; j++)
                            z[0, c, i, j] *= MathF.Sqrt(3f);
            }
            var (map, mask, summary) = segmenter.Segment(latents, 0);
            Assert.Equal(256 * 320, mask.Length);
            Assert.True(summary.IsAnomalous, $"seed {seed}: not detected");

            // Output pixel (y, x) covers fine cell (y·64/256, x·80/320): 4 pixels per cell both ways.
            int intersection = 0, union = 0, outside = 0;
            for (int y = 0; y < 256; y++)
            {
                for (int x = 0; x < 320; x++)
                {
                    double cy = (y + 0.5) * FineHeight / 256, cx = (x + 0.5) * FineWidth / 320;
                    bool truth = cy >= Row && cy < Row + Height && cx >= Column && cx < Column + Width;
                    bool predicted = mask[y * 320 + x];
                    intersection += truth && predicted ? 1 : 0;
                    union += truth || predicted ? 1 : 0;
                    outside += predicted && !truth ? 1 : 0;
                }
            }
            double iou = (double)intersection / union;
            Assert.True(iou >= 0.7, $"seed {seed}: IoU {iou:F3} with the planted rectangle");
            iouSum += iou;
        }
        Assert.True(iouSum / Images >= 0.8, $"mean IoU {iouSum / Images:F3}");
    }

    [Fact]
    public void Tensor_span_and_batch_entry_points_agree_on_the_rectangular_grid_and_refuse_a_square_buffer()
    {
        var rng = new SeededRandom(9);
        Tensor[] latents = [new Tensor(2, 6, 8, 12), new Tensor(2, 5, 4, 6)];
        foreach (Tensor z in latents) NfaSegmenterTests.FillGaussian(z.Span, rng, 1.2);
        var segmenter = new NfaSegmenter(new NfaSegmentationOptions { OutputSize = 16 });
        var (height, width) = segmenter.OutputGrid(8, 12);
        Assert.Equal((16, 24), (height, width));
        var batchMap = new Tensor(2, 1, height, width);
        var batchMasks = new bool[2 * height * width];
        segmenter.SegmentBatch(latents, batchMap, batchMasks, maxDegreeOfParallelism: 2);
        for (int i = 0; i < 2; i++)
        {
            var (map, mask, _) = segmenter.Segment(latents, i);
            Assert.Equal(batchMap.Sample(i).ToArray(), map);
            Assert.Equal(batchMasks.AsSpan(i * height * width, height * width).ToArray(), mask);
            NfaLatentScale[] scales = latents.Select(z => new NfaLatentScale(z.Sample(i).ToArray(), z.C, z.H, z.W)).ToArray();
            var spanMap = new float[height * width];
            var spanMask = new bool[height * width];
            segmenter.Segment(scales, spanMap, spanMask);
            Assert.Equal(map, spanMap);
        }
        var square = new float[16 * 16];
        var error = Assert.Throws<ArgumentException>(() => segmenter.Segment(latents, 0, square, new bool[16 * 16]));
        Assert.Contains("16x24", error.Message);
    }
}
