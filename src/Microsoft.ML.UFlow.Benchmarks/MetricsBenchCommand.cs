using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Metrics;

namespace Microsoft.ML.UFlow.Benchmarks;

// ML.NET has a namespace Microsoft.ML.Command, which hides System.CommandLine's Command inside namespace Microsoft.ML.*.
using Command = System.CommandLine.Command;

/// <summary>
/// <c>uflow bench metrics</c>: time of the pixel evaluator (AUROC + AUPRO + F1-max in one pass, per-image sorted runs
/// merged at the end) on seeded synthetic 256×256 maps, against a reference in the same process that packs the same
/// 8-byte pixels into one array, sorts it once and walks it for AUROC only. Also times the mIoU oracle sweep and the
/// fair threshold. Runs alternate (reference, candidate) to share machine noise.
/// </summary>
internal static class MetricsBenchCommand
{
    public static Command Create()
    {
        var images = new Option<int>("--images") { Description = "Test maps (83 = MVTec bottle, 582 = MTD).", DefaultValueFactory = _ => 83 };
        var size = new Option<int>("--size") { Description = "Map side in pixels.", DefaultValueFactory = _ => 256 };
        var repeat = new Option<int>("--repeat") { Description = "Alternating repetitions.", DefaultValueFactory = _ => 3 };
        var cmd = new Command("metrics", "Pixel metrics evaluator vs one-array sort reference; mIoU sweep; fair threshold.");
        cmd.Options.Add(images);
        cmd.Options.Add(size);
        cmd.Options.Add(repeat);
        cmd.SetAction(r => Run(r.GetValue(images), r.GetValue(size), r.GetValue(repeat)));
        return cmd;
    }

    private static int Run(int imageCount, int size, int repeat)
    {
        var (maps, masks) = Synthetic(imageCount, size, seed: 42);
        long pixels = (long)imageCount * size * size;
        Console.WriteLine($"metrics bench: {imageCount} maps of {size}x{size} = {pixels / 1e6:F2} M pixels, {Environment.ProcessorCount} cores (provisional; shared machine)");
        double bestAdd = double.MaxValue, bestRef = double.MaxValue, bestEval = double.MaxValue, bestSweep = double.MaxValue, bestNfaSweep = double.MaxValue, bestFair = double.MaxValue;
        PixelMetrics? metrics = null;
        double refAuroc = 0;
        for (int r = 0; r < repeat; r++)
        {
            var sw = Stopwatch.StartNew();
            refAuroc = ReferenceAuroc(maps, masks);
            bestRef = Math.Min(bestRef, sw.Elapsed.TotalSeconds);

            sw.Restart();
            var evaluator = new PixelEvaluator();
            for (int i = 0; i < imageCount; i++) evaluator.Add(maps[i], masks[i], size, size);
            bestAdd = Math.Min(bestAdd, sw.Elapsed.TotalSeconds);
            metrics = evaluator.Compute();
            bestEval = Math.Min(bestEval, sw.Elapsed.TotalSeconds);

            sw.Restart();
            var sweep = new MeanIouSweep(Enumerable.Range(-40, 141).Select(t => t / 20.0));
            for (int i = 0; i < imageCount; i++) sweep.Add(maps[i], masks[i]);
            _ = sweep.Best();
            bestSweep = Math.Min(bestSweep, sw.Elapsed.TotalSeconds);

            sw.Restart();
            var nfaSweep = MeanIouSweep.ForNegativeLogNfa();
            for (int i = 0; i < imageCount; i++) nfaSweep.Add(maps[i], masks[i]);
            _ = nfaSweep.Best();
            bestNfaSweep = Math.Min(bestNfaSweep, sw.Elapsed.TotalSeconds);

            sw.Restart();
            var fair = new FairThresholdEstimator();
            for (int i = 0; i < imageCount; i++) fair.Add(maps[i]);
            _ = fair.Compute();
            bestFair = Math.Min(bestFair, sw.Elapsed.TotalSeconds);
        }
        if (Math.Abs(refAuroc - metrics!.Auroc) > 1e-12) throw new InvalidOperationException($"AUROC mismatch: reference {refAuroc}, evaluator {metrics.Auroc}.");
        Console.WriteLine($"  reference (one array, sort once, AUROC only) : {bestRef:F3} s  ({bestRef * 1e9 / pixels:F1} ns/pixel)");
        Console.WriteLine($"  PixelEvaluator (AUROC + AUPRO + F1-max)      : {bestEval:F3} s  ({bestEval * 1e9 / pixels:F1} ns/pixel)  ratio reference/evaluator = {bestRef / bestEval:F2}");
        Console.WriteLine($"    of which Add (label, pack, sort per image)  : {bestAdd:F3} s");
        Console.WriteLine($"  MeanIouSweep (141 thresholds)                : {bestSweep:F3} s  ({bestSweep * 1e9 / pixels:F1} ns/pixel)");
        Console.WriteLine($"  MeanIouSweep (NFA grid, 1401 integers)       : {bestNfaSweep:F3} s  ({bestNfaSweep * 1e9 / pixels:F1} ns/pixel)");
        Console.WriteLine($"  FairThresholdEstimator (same maps as train)  : {bestFair:F3} s  ({bestFair * 1e9 / pixels:F1} ns/pixel)");
        Console.WriteLine($"  values: AUROC {metrics.Auroc:F6}  AUPRO {metrics.Aupro:F6}  F1-max {metrics.F1Max:F6}  regions {metrics.RegionCount}");
        return 0;
    }

    private static (float[][] Maps, float[][] Masks) Synthetic(int count, int size, ulong seed)
    {
        var rng = new SeededRandom(seed);
        var maps = new float[count][];
        var masks = new float[count][];
        for (int i = 0; i < count; i++)
        {
            maps[i] = new float[size * size];
            masks[i] = new float[size * size];
            int blobs = i % 4 == 0 ? 0 : 1 + rng.NextInt(3);
            for (int b = 0; b < blobs; b++)
            {
                int cy = rng.NextInt(size), cx = rng.NextInt(size), rad = 3 + rng.NextInt(size / 8);
                for (int y = Math.Max(0, cy - rad); y < Math.Min(size, cy + rad); y++)
                    for (int x = Math.Max(0, cx - rad); x < Math.Min(size, cx + rad); x++)
                        if ((y - cy) * (y - cy) + (x - cx) * (x - cx) <= rad * rad) masks[i][y * size + x] = 1f;
            }
            for (int p = 0; p < size * size; p++)
            {
                // float32 scores in [0, 1) like 1 − mean probability; rounding to 2^-20 makes ties common, as in real maps
                double s = 0.3 + 0.1 * rng.NextGaussian() + 0.3 * masks[i][p];
                maps[i][p] = MathF.Round((float)Math.Clamp(s, 0, 1) * (1 << 20)) / (1 << 20);
            }
        }
        return (maps, masks);
    }

    private static double ReferenceAuroc(float[][] maps, float[][] masks)
    {
        long n = maps.Sum(m => (long)m.Length);
        var all = new ulong[n];
        long k = 0;
        for (int i = 0; i < maps.Length; i++)
        {
            for (int p = 0; p < maps[i].Length; p++)
            {
                uint bits = BitConverter.SingleToUInt32Bits(maps[i][p] == 0 ? 0f : maps[i][p]);
                uint key = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
                all[k++] = ((ulong)~key << 32) | (masks[i][p] > 0.5f ? 1u : 0u);
            }
        }
        Array.Sort(all);
        Int128 twice = 0;
        long pos = 0, neg = 0, gp = 0, gn = 0;
        uint current = (uint)(all[0] >> 32);
        foreach (ulong e in all)
        {
            uint key = (uint)(e >> 32);
            if (key != current)
            {
                twice += (Int128)gn * (2 * (Int128)pos + gp);
                pos += gp; neg += gn; gp = gn = 0; current = key;
            }
            if ((e & 1) != 0) gp++; else gn++;
        }
        twice += (Int128)gn * (2 * (Int128)pos + gp);
        pos += gp; neg += gn;
        return (double)twice / (2.0 * pos * (double)neg);
    }
}
