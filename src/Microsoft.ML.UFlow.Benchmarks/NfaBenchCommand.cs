using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow.Benchmarks;

// ML.NET has a namespace Microsoft.ML.Command, which hides System.CommandLine's Command inside namespace Microsoft.ML.*.
using Command = System.CommandLine.Command;

/// <summary>
/// <c>uflow bench nfa</c>: milliseconds per image of the tree NFA segmentation (one thread, 256×256 output) for the
/// MS-CaiT latent shapes and the ResNet-50 v2 @256 shapes, on N(0,1) latents with and without a planted block.
/// Besides the total it times, interleaved in the same process, the stages alone: the chi-square statistic
/// (reads every latent value once: the memory floor of any implementation) and the max-trees with prune/merge; the
/// rest is upsampling and the minimum over scales. The ratio total / statistic is the machine-independent figure.
/// </summary>
internal static class NfaBenchCommand
{
    /// <summary>One latent shape set: per scale (C, H, W); the planted block is given in cells of the finest scale.</summary>
    internal sealed record Case(string Name, (int C, int H, int W)[] Scales, bool Planted, int Block, double Variance);

    internal static readonly Case[] Cases =
    [
        new("mscait_h0", [(816, 28, 28), (192, 14, 14)], false, 0, 1),
        new("mscait_planted", [(816, 28, 28), (192, 14, 14)], true, 6, 2.0),
        new("resnet50v2_256_h0", [(336, 64, 64), (320, 32, 32), (512, 16, 16)], false, 0, 1),
        new("resnet50v2_256_planted", [(336, 64, 64), (320, 32, 32), (512, 16, 16)], true, 16, 2.0),
    ];

    public static Command Create()
    {
        var json = new Option<FileInfo?>("--json") { Description = "Also write the results as JSON to this file." };
        var images = new Option<int>("--images") { Description = "Timed images per round (cycled over 4 generated images).", DefaultValueFactory = _ => 50 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds (median reported; at least 3).", DefaultValueFactory = _ => 7 };
        var command = new Command("nfa", "Tree NFA segmentation: ms per image for MS-CaiT and ResNet-50 v2 @256 latent shapes, one thread.");
        command.Options.Add(json);
        command.Options.Add(images);
        command.Options.Add(rounds);
        command.SetAction(parse => Run(parse.GetValue(json), Math.Max(1, parse.GetValue(images)), Math.Max(3, parse.GetValue(rounds))));
        return command;
    }

    private static int Run(FileInfo? json, int images, int rounds)
    {
        Console.WriteLine($"uflow bench nfa: one thread, output 256x256 bilinear, {images} images x {rounds} rounds (median), {Environment.ProcessorCount} processors");
        Console.WriteLine($"{"case",-24} {"ms/image",9} {"statistic",10} {"trees",8} {"combine",8} {"total/stat",11} {"detected",9}");
        var results = new List<Dictionary<string, object>>();
        foreach (Case c in Cases)
        {
            Result r = Time(c, images, rounds);
            Console.WriteLine($"{c.Name,-24} {r.Total,9:F3} {r.Statistic,10:F3} {r.Trees,8:F3} {r.Total - r.Statistic - r.Trees,8:F3} {r.Total / r.Statistic,11:F2} {r.DetectedImages,4}/{r.GeneratedImages}");
            results.Add(new Dictionary<string, object>
            {
                ["name"] = c.Name,
                ["scales"] = c.Scales.Select(s => $"{s.C}x{s.H}x{s.W}").ToArray(),
                ["planted"] = c.Planted,
                ["ms_per_image"] = Math.Round(r.Total, 4),
                ["statistic_ms"] = Math.Round(r.Statistic, 4),
                ["trees_ms"] = Math.Round(r.Trees, 4),
                ["combine_ms"] = Math.Round(r.Total - r.Statistic - r.Trees, 4),
                ["total_over_statistic"] = Math.Round(r.Total / r.Statistic, 3),
                ["images_detected"] = r.DetectedImages,
                ["images_generated"] = r.GeneratedImages,
            });
        }
        if (json is not null)
        {
            var doc = new Dictionary<string, object> { ["threads"] = 1, ["output_size"] = 256, ["upsampling"] = "bilinear", ["cases"] = results };
            AtomicFile.WriteAllText(json.FullName, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"wrote {json.FullName}");
        }
        return 0;
    }

    private readonly record struct Result(double Total, double Statistic, double Trees, int DetectedImages, int GeneratedImages);

    private static Result Time(Case c, int images, int rounds)
    {
        const int Generated = 4;
        var rng = new SeededRandom(2024);
        var latents = new NfaLatentScale[Generated][];
        for (int g = 0; g < Generated; g++)
        {
            latents[g] = c.Scales.Select(s => new NfaLatentScale(Gaussian(s.C * s.H * s.W, rng), s.C, s.H, s.W)).ToArray();
            if (c.Planted)
            {
                Plant(latents[g], c.Block, c.Variance, rng);
            }
        }

        var segmenter = new NfaSegmenter();
        var tree = new NfaComponentTree();
        var output = new float[256 * 256];
        var mask = new bool[256 * 256];
        int maxPlane = c.Scales.Max(s => s.H * s.W);
        var statistic = new float[maxPlane];
        var scaleMap = new float[maxPlane];
        var statistics = latents.Select(image => image.Select(s =>
        {
            var x = new float[s.Height * s.Width];
            LatentStatistics.SumOfSquares(s.Values.Span, s.Channels, s.Height, s.Width, x);
            return x;
        }).ToArray()).ToArray();

        int detected = 0;
        for (int g = 0; g < Generated; g++)
        {
            detected += segmenter.Segment(latents[g], output, mask).IsAnomalous ? 1 : 0;
        }

        var total = new double[rounds];
        var stat = new double[rounds];
        var trees = new double[rounds];
        for (int round = -1; round < rounds; round++) // round −1 is the warm-up
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < images; i++)
            {
                segmenter.Segment(latents[i % Generated], output, mask);
            }
            long t1 = Stopwatch.GetTimestamp();
            for (int i = 0; i < images; i++)
            {
                foreach (NfaLatentScale s in latents[i % Generated])
                {
                    LatentStatistics.SumOfSquares(s.Values.Span, s.Channels, s.Height, s.Width, statistic.AsSpan(0, s.Height * s.Width));
                }
            }
            long t2 = Stopwatch.GetTimestamp();
            for (int i = 0; i < images; i++)
            {
                NfaLatentScale[] image = latents[i % Generated];
                for (int l = 0; l < image.Length; l++)
                {
                    int plane = image[l].Height * image[l].Width;
                    tree.Build(statistics[i % Generated][l], image[l].Height, image[l].Width);
                    tree.ComputeFinalRegions(image[l].Channels, false, scaleMap.AsSpan(0, plane));
                }
            }
            long t3 = Stopwatch.GetTimestamp();
            if (round >= 0)
            {
                total[round] = Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds / images;
                stat[round] = Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds / images;
                trees[round] = Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds / images;
            }
        }
        return new Result(Median(total), Median(stat), Median(trees), detected, Generated);
    }

    private static float[] Gaussian(int count, SeededRandom rng)
    {
        var values = new float[count];
        for (int i = 0; i < count; i += 2)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1));
            (double sin, double cos) = Math.SinCos(2.0 * Math.PI * u2);
            values[i] = (float)(r * cos);
            if (i + 1 < count) values[i + 1] = (float)(r * sin);
        }
        return values;
    }

    // Scales a block of block×block finest cells (and the cells under it at coarser scales) to the given variance.
    private static void Plant(NfaLatentScale[] scales, int block, double variance, SeededRandom rng)
    {
        float factor = (float)Math.Sqrt(variance);
        int fineSize = scales[0].Height;
        int row = rng.NextInt(fineSize - block), column = rng.NextInt(fineSize - block);
        foreach (NfaLatentScale s in scales)
        {
            int ratio = fineSize / s.Height, plane = s.Height * s.Width;
            Span<float> target = System.Runtime.InteropServices.MemoryMarshal.AsMemory(s.Values).Span;
            for (int ch = 0; ch < s.Channels; ch++)
            {
                for (int i = row / ratio; i < (row + block) / ratio; i++)
                {
                    for (int j = column / ratio; j < (column + block) / ratio; j++)
                    {
                        target[ch * plane + i * s.Width + j] *= factor;
                    }
                }
            }
        }
    }

    private static double Median(double[] values)
    {
        double[] s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }
}
