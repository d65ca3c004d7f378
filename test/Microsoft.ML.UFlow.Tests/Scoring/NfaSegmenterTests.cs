using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Scoring;

public class NfaSegmenterTests
{
    private const int FineChannels = 816, FineSize = 28, CoarseChannels = 192, CoarseSize = 14;

    [Fact]
    public void PureStandardNormalLatentsGiveNoDetectionInAtLeast99Of100Images()
    {
        var rng = new SeededRandom(2024);
        var segmenter = new NfaSegmenter();
        Tensor[] latents = MsCaitLatents();
        var map = new float[256 * 256];
        var mask = new bool[256 * 256];
        int imagesWithDetection = 0;
        for (int image = 0; image < 100; image++)
        {
            foreach (Tensor z in latents) FillGaussian(z.Span, rng, 1.0);
            NfaImageResult result = segmenter.Segment(latents, 0, map, mask);
            imagesWithDetection += result.IsAnomalous ? 1 : 0;
            Assert.Equal(mask.Count(m => m), result.DetectedPixels);
            Assert.Equal(map.Max(), result.MaxNegativeLog10Nfa);
        }
        Assert.Equal(476.92371, segmenter.Log10NumberOfTests, 5);
        Assert.True(imagesWithDetection <= 1, $"{imagesWithDetection} of 100 H0 images had a detection");
    }

    [Fact]
    public void PlantedSixBySixBlockOfVariance2IsDetectedAndLocalised()
    {
        // A 6×6 block of the 28×28 grid (and the 3×3 coarse cells under it) with z ~ N(0, 2), eight seeded images.
        // The exact method keeps the connected top of the block (it usually drops its 1–4 lowest cells) and the
        // official bilinear upsampling blends the border with 0, so the IoU lies around 0.82–0.92 (not ≥ 0.9 always).
        var bilinear = new NfaSegmenter();
        var nearest = new NfaSegmenter(new NfaSegmentationOptions { Upsampling = NfaUpsampling.Nearest });
        var map = new float[65536];
        var mask = new bool[65536];
        double bilinearSum = 0, nearestSum = 0;
        const int Images = 8;
        for (ulong seed = 100; seed < 100 + Images; seed++)
        {
            var rng = new SeededRandom(seed);
            Tensor[] latents = MsCaitLatents();
            foreach (Tensor z in latents) FillGaussian(z.Span, rng, 1.0);
            PlantBlock(latents, row: 10, column: 8, cells: 6, variance: 2.0);

            Assert.True(bilinear.Segment(latents, 0, map, mask).IsAnomalous, $"seed {seed}: not detected");
            double iou = IoUWithBlock(mask, 256, row: 10, column: 8, cells: 6);
            Assert.True(iou >= 0.8, $"seed {seed}: bilinear mask IoU {iou:F3}");
            bilinearSum += iou;

            Assert.True(nearest.Segment(latents, 0, map, mask).IsAnomalous, $"seed {seed}: not detected (nearest)");
            nearestSum += IoUWithBlock(mask, 256, row: 10, column: 8, cells: 6);
        }
        Assert.True(bilinearSum / Images >= 0.85, $"mean bilinear IoU {bilinearSum / Images:F3}");
        Assert.True(nearestSum / Images >= 0.85, $"mean nearest IoU {nearestSum / Images:F3}");
    }

    [Fact]
    public void LargePlantedBlockOfVariance1_5IsDetected()
    {
        var rng = new SeededRandom(21);
        Tensor[] latents = MsCaitLatents();
        foreach (Tensor z in latents) FillGaussian(z.Span, rng, 1.0);
        PlantBlock(latents, row: 6, column: 6, cells: 16, variance: 1.5);
        (_, bool[] mask, NfaImageResult summary) = new NfaSegmenter().Segment(latents, 0);
        Assert.True(summary.IsAnomalous);
        double iou = IoUWithBlock(mask, 256, row: 6, column: 6, cells: 16);
        Assert.True(iou >= 0.8, $"mask IoU {iou:F3}");
    }

    [Fact]
    public void SixBySixBlockOfVariance1_5IsBelowTheOfficialSensitivityButWithinALenientBudget()
    {
        // 36 cells with u ≈ 1.35 at their minimum give log10 PFA ≈ −380 > −log10 N_T = −476.9: not significant.
        var rng = new SeededRandom(31);
        Tensor[] latents = MsCaitLatents();
        foreach (Tensor z in latents) FillGaussian(z.Span, rng, 1.0);
        PlantBlock(latents, row: 10, column: 8, cells: 6, variance: 1.5);
        var segmenter = new NfaSegmenter();
        (_, _, NfaImageResult summary) = segmenter.Segment(latents, 0);
        Assert.False(summary.IsAnomalous);
        float best = MinIgnoringNaN(segmenter.ScaleLogPfaMap(0));
        Assert.InRange(best, -476.9f, -250f);

        // A budget of ε = 10^150 false alarms per image is absurd in practice but shows that the threshold moves.
        var lenient = new NfaSegmenter(new NfaSegmentationOptions { FalseAlarmsPerImage = 1e150 });
        (_, bool[] mask, NfaImageResult lenientSummary) = lenient.Segment(latents, 0);
        Assert.True(lenientSummary.IsAnomalous);
        Assert.True(IoUWithBlock(mask, 256, 10, 8, 6) > 0.5);
    }

    [Fact]
    public void FalseAlarmBudgetThresholdsMinusLog10Nfa()
    {
        var rng = new SeededRandom(41);
        Tensor[] latents = MsCaitLatents();
        foreach (Tensor z in latents) FillGaussian(z.Span, rng, 1.0);
        PlantBlock(latents, row: 4, column: 4, cells: 7, variance: 2.0);
        var defaults = new NfaSegmenter();
        (float[] map, bool[] mask, NfaImageResult summary) = defaults.Segment(latents, 0);
        Assert.Equal(0f, defaults.Threshold);
        for (int p = 0; p < map.Length; p++) Assert.Equal(map[p] > 0f, mask[p]);

        foreach (double epsilon in new[] { 1e-3, 1e-300, 10.0 })
        {
            var budgeted = new NfaSegmenter(new NfaSegmentationOptions { FalseAlarmsPerImage = epsilon });
            (float[] map2, bool[] mask2, NfaImageResult summary2) = budgeted.Segment(latents, 0);
            Assert.Equal(map, map2); // ε changes only the mask
            Assert.Equal((float)-Math.Log10(epsilon), budgeted.Threshold);
            int count = 0;
            for (int p = 0; p < map.Length; p++)
            {
                Assert.Equal(map[p] > (float)-Math.Log10(epsilon), mask2[p]);
                count += mask2[p] ? 1 : 0;
            }
            Assert.Equal(count, summary2.DetectedPixels);
            if (epsilon < 1) Assert.True(summary2.DetectedPixels <= summary.DetectedPixels);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new NfaSegmenter(new NfaSegmentationOptions { FalseAlarmsPerImage = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NfaSegmenter(new NfaSegmentationOptions { OutputSize = 0 }));
    }

    [Fact]
    public void UnderDispersedLatentsFlagTheWholeImageUnlessGuarded()
    {
        // METHOD.md A.7.8: σ = 0.95 makes the root significant under the official rule; the guard removes it.
        var rng = new SeededRandom(51);
        Tensor[] latents = MsCaitLatents();
        foreach (Tensor z in latents) FillGaussian(z.Span, rng, 0.95);
        (_, _, NfaImageResult official) = new NfaSegmenter().Segment(latents, 0);
        Assert.Equal(256 * 256, official.DetectedPixels);
        (_, _, NfaImageResult guarded) = new NfaSegmenter(new NfaSegmentationOptions { UnderDispersionGuard = true }).Segment(latents, 0);
        Assert.False(guarded.IsAnomalous);
        double[] meanSquare = LatentStatistics.MeanSquarePerScale(latents);
        Assert.InRange(meanSquare[0], 0.95 * 0.95 * 0.99, 0.95 * 0.95 * 1.01);
    }

    [Fact]
    public void OverDispersedLatentsGiveFalseDetections()
    {
        // METHOD.md A.7.8: z ~ N(0, 1.1²) is borderline (about half of the images), σ = 1.2 always gives large
        // significant regions: the threshold needs a calibrated flow.
        var rng = new SeededRandom(61);
        Tensor[] latents = MsCaitLatents();
        foreach (Tensor z in latents) FillGaussian(z.Span, rng, 1.2);
        (_, _, NfaImageResult summary) = new NfaSegmenter().Segment(latents, 0);
        Assert.True(summary.IsAnomalous);
    }

    [Fact]
    public void OutputEqualsManualCombinationOfScaleMaps()
    {
        // −log10 NFA = −(log10 N_T + min_l upsample(NaN→0 map_l)), checked at a small output size and both modes.
        var rng = new SeededRandom(71);
        var latents = new[] { new Tensor(2, 6, 8, 8), new Tensor(2, 5, 4, 4) };
        foreach (Tensor z in latents) FillGaussian(z.Span, rng, 1.3);
        foreach (NfaUpsampling mode in new[] { NfaUpsampling.Bilinear, NfaUpsampling.Nearest })
        {
            var segmenter = new NfaSegmenter(new NfaSegmentationOptions { OutputSize = 20, Upsampling = mode });
            var map = new float[400];
            var mask = new bool[400];
            segmenter.Segment(latents, 1, map, mask);
            var expected = new float[400];
            Array.Fill(expected, float.PositiveInfinity);
            for (int l = 0; l < 2; l++)
            {
                int side = latents[l].H;
                float[] filled = segmenter.ScaleLogPfaMap(l).ToArray().Select(v => float.IsNaN(v) ? 0f : v).ToArray();
                for (int y = 0; y < 20; y++)
                {
                    for (int x = 0; x < 20; x++)
                    {
                        float v = mode == NfaUpsampling.Nearest
                            ? filled[Math.Min(y * side / 20, side - 1) * side + Math.Min(x * side / 20, side - 1)]
                            : BilinearReference(filled, side, y, x, 20);
                        expected[y * 20 + x] = Math.Min(expected[y * 20 + x], v);
                    }
                }
            }
            float logNt = (float)NfaNumberOfTests.Log10([64, 16]);
            for (int p = 0; p < 400; p++)
            {
                Assert.Equal(-(logNt + expected[p]), map[p], 3);
            }
        }
    }

    [Fact]
    public void AllZeroLatentPixelGivesAFiniteDetectionWithoutNaN()
    {
        // u = 0 makes the Chernoff expression −∞ (here the whole all-zero fine scale is one root region); the
        // output must stay NaN-free through the bilinear blending and detect everything.
        var rng = new SeededRandom(83);
        Tensor[] latents = MsCaitLatents();
        FillGaussian(latents[1].Span, rng, 1.0);
        var segmenter = new NfaSegmenter();
        (float[] map, bool[] mask, NfaImageResult summary) = segmenter.Segment(latents, 0);
        Assert.True(float.IsNegativeInfinity(MinIgnoringNaN(segmenter.ScaleLogPfaMap(0))));
        Assert.DoesNotContain(map, float.IsNaN);
        Assert.Equal(256 * 256, summary.DetectedPixels);
        Assert.Equal(map.Max(), summary.MaxNegativeLog10Nfa);
        Assert.Equal(mask.Count(m => m), summary.DetectedPixels);
    }

    [Fact]
    public void TensorAndSpanOverloadsAgreeAndReuseBuffers()
    {
        var rng = new SeededRandom(81);
        Tensor[] latents = MsCaitLatents(samples: 2);
        foreach (Tensor z in latents) FillGaussian(z.Span, rng, 1.05);
        var segmenter = new NfaSegmenter();
        var a = new float[65536];
        var b = new float[65536];
        var mask = new bool[65536];
        segmenter.Segment(latents, 1, a, mask);
        NfaLatentScale[] scales =
        [
            new(latents[0].Sample(1).ToArray(), FineChannels, FineSize, FineSize),
            new(latents[1].Sample(1).ToArray(), CoarseChannels, CoarseSize, CoarseSize),
        ];
        segmenter.Segment(scales, b, mask);
        Assert.Equal(a, b);

        long before = GC.GetAllocatedBytesForCurrentThread();
        segmenter.Segment(scales, b, mask);
        segmenter.Segment(latents, 1, b, mask);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void BatchMatchesPerImageCallsSequentialAndParallel()
    {
        var rng = new SeededRandom(85);
        Tensor[] latents = MsCaitLatents(samples: 3);
        foreach (Tensor z in latents) FillGaussian(z.Span, rng, 1.0);
        for (int c = 0; c < FineChannels; c++)
            for (int i = 4; i < 11; i++)
                for (int j = 4; j < 11; j++)
                    latents[0][1, c, i, j] *= 1.5f; // sample 1 has an anomaly
        var options = new NfaSegmentationOptions { OutputSize = 64 };
        var single = new NfaSegmenter(options);
        foreach (int parallelism in new[] { 1, 2 })
        {
            var output = new Tensor(3, 1, 64, 64);
            var masks = new bool[3 * 64 * 64];
            NfaImageResult[] results = new NfaSegmenter(options).SegmentBatch(latents, output, masks, parallelism);
            for (int i = 0; i < 3; i++)
            {
                (float[] map, bool[] mask, NfaImageResult summary) = single.Segment(latents, i);
                Assert.Equal(map, output.Sample(i).ToArray());
                Assert.Equal(mask, masks.AsSpan(i * 4096, 4096).ToArray());
                Assert.Equal(summary, results[i]);
            }
            Assert.False(results[0].IsAnomalous);
            Assert.True(results[1].IsAnomalous);
        }
        Assert.Throws<ArgumentException>(() => single.SegmentBatch(latents, new Tensor(2, 1, 64, 64), new bool[2 * 4096]));
    }

    [Fact]
    public void BadInputsNameTheProblem()
    {
        var segmenter = new NfaSegmenter();
        var map = new float[65536];
        var mask = new bool[65536];
        Assert.Throws<ArgumentException>(() => segmenter.Segment(Array.Empty<Tensor>(), 0, map, mask));
        Assert.Throws<ArgumentOutOfRangeException>(() => segmenter.Segment(MsCaitLatents(), 1, map, mask));
        var e = Assert.Throws<ArgumentException>(() => segmenter.Segment(MsCaitLatents(), 0, new float[100], mask));
        Assert.Contains("256x256", e.Message);
        Tensor[] latents = MsCaitLatents();
        latents[1][0, 3, 2, 1] = float.NaN;
        e = Assert.Throws<ArgumentException>(() => segmenter.Segment(latents, 0, map, mask));
        Assert.Contains("Latent scale 1", e.Message);
        Assert.Throws<ArgumentException>(() => new NfaLatentScale(new float[10], 2, 2, 2));
    }

    [Theory]
    [InlineData(37, 5, 7)]
    [InlineData(816, 28, 28)]
    [InlineData(6, 3, 3)]
    [InlineData(1, 4, 4)]
    public void SumOfSquaresIsTheChannelOrderFmaChain(int channels, int height, int width)
    {
        // Every SIMD path must give exactly x = fma(z_c, z_c, x) over c in order (starting from z_0²), and the
        // float result must be close to a double sum.
        var rng = new SeededRandom(91);
        int plane = height * width;
        var z = new float[channels * plane];
        FillGaussian(z, rng, 1.0);
        var x = new float[plane];
        LatentStatistics.SumOfSquares(z, channels, height, width, x);
        for (int p = 0; p < plane; p++)
        {
            float chain = z[p] * z[p];
            double sum = (double)z[p] * z[p];
            for (int c = 1; c < channels; c++)
            {
                float v = z[c * plane + p];
                chain = MathF.FusedMultiplyAdd(v, v, chain);
                sum += (double)v * v;
            }
            Assert.Equal(chain, x[p]);
            Assert.True(Math.Abs(sum - x[p]) <= 1e-5 * sum, $"pixel {p}: {x[p]} vs {sum}");
        }
        double mean = z.Sum(v => (double)v * v) / z.Length;
        Assert.Equal(mean, LatentStatistics.MeanSquare(z), 1e-6 * mean);
    }

    internal static Tensor[] MsCaitLatents(int samples = 1) =>
        [new Tensor(samples, FineChannels, FineSize, FineSize), new Tensor(samples, CoarseChannels, CoarseSize, CoarseSize)];

    // Box–Muller in float, vectorised (tests generate tens of millions of samples): r = σ·√(−2 ln u1) with
    // u1 ∈ (0, 1], angle 2π·u2; the cosine and sine halves fill the first and second half of the span.
    internal static void FillGaussian(Span<float> values, SeededRandom rng, double sigma)
    {
        int pairs = (values.Length + 1) / 2;
        float[] buffer = System.Buffers.ArrayPool<float>.Shared.Rent(4 * pairs);
        Span<float> radius = buffer.AsSpan(0, pairs), angle = buffer.AsSpan(pairs, pairs);
        Span<float> sin = buffer.AsSpan(2 * pairs, pairs), cos = buffer.AsSpan(3 * pairs, pairs);
        for (int i = 0; i < pairs; i++)
        {
            radius[i] = (float)(1.0 - rng.NextDouble());
            angle[i] = (float)(2.0 * Math.PI * rng.NextDouble());
        }
        TensorPrimitives.Log(radius, radius);
        TensorPrimitives.Multiply(radius, (float)(-2.0 * sigma * sigma), radius);
        TensorPrimitives.Sqrt(radius, radius);
        TensorPrimitives.SinCos(angle, sin, cos);
        TensorPrimitives.Multiply(radius, cos, cos);
        TensorPrimitives.Multiply(radius, sin, sin);
        cos.CopyTo(values);
        sin[..(values.Length - pairs)].CopyTo(values[pairs..]);
        System.Buffers.ArrayPool<float>.Shared.Return(buffer);
    }

    // Multiplies the latents of a block of fine cells (and the coarse cells under it) by √variance.
    internal static void PlantBlock(Tensor[] latents, int row, int column, int cells, double variance)
    {
        float scale = (float)Math.Sqrt(variance);
        foreach (Tensor z in latents)
        {
            int factor = FineSize / z.H;
            for (int c = 0; c < z.C; c++)
                for (int i = row / factor; i < (row + cells) / factor; i++)
                    for (int j = column / factor; j < (column + cells) / factor; j++)
                        z[0, c, i, j] *= scale;
        }
    }

    // IoU of a mask with the block of fine cells mapped to output pixels by cell boundaries (pixel centre inside the cell).
    internal static double IoUWithBlock(bool[] mask, int size, int row, int column, int cells)
    {
        int intersection = 0, union = 0;
        for (int y = 0; y < size; y++)
        {
            for (int x = 0; x < size; x++)
            {
                double cy = (y + 0.5) * FineSize / size, cx = (x + 0.5) * FineSize / size;
                bool truth = cy >= row && cy < row + cells && cx >= column && cx < column + cells;
                bool predicted = mask[y * size + x];
                intersection += truth && predicted ? 1 : 0;
                union += truth || predicted ? 1 : 0;
            }
        }
        return union == 0 ? 1 : (double)intersection / union;
    }

    private static float MinIgnoringNaN(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity;
        foreach (float v in values) if (!float.IsNaN(v)) min = Math.Min(min, v);
        return min;
    }

    // Independent bilinear (align_corners = False) of one output pixel, in double.
    private static float BilinearReference(float[] plane, int side, int y, int x, int outSize)
    {
        double Source(int d) => Math.Max((d + 0.5) * side / outSize - 0.5, 0);
        double sy = Source(y), sx = Source(x);
        int y0 = Math.Min((int)sy, side - 1), x0 = Math.Min((int)sx, side - 1);
        int y1 = Math.Min(y0 + 1, side - 1), x1 = Math.Min(x0 + 1, side - 1);
        double ly = sy - y0, lx = sx - x0;
        double top = (1 - lx) * plane[y0 * side + x0] + lx * plane[y0 * side + x1];
        double bottom = (1 - lx) * plane[y1 * side + x0] + lx * plane[y1 * side + x1];
        return (float)((1 - ly) * top + ly * bottom);
    }
}
