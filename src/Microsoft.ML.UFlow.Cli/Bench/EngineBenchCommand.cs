using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Data;

namespace Microsoft.ML.UFlow.Cli.Bench;

// ML.NET has a namespace Microsoft.ML.Command, which hides System.CommandLine's Command inside namespace Microsoft.ML.*.
using Command = System.CommandLine.Command;

/// <summary>
/// <c>uflow bench engine</c>: times conv2d forward and backward (input + weight + bias gradients) on the fixed set of
/// U-Flow / CS-Flow layer shapes, batch 4, float32, median of several runs after warm-up. bench/engine_vs_pytorch.py
/// runs the same cases with PyTorch and prints the ratios.
/// </summary>
internal static class EngineBenchCommand
{
    /// <summary>One benchmark case: a k×k "same" convolution Cin→Cout on an H×W map.</summary>
    internal sealed record Case(string Name, int K, int Cin, int Cout, int H, int W);

    /// <summary>The cases of the issue, in order (kept identical in bench/engine_vs_pytorch.py).</summary>
    internal static readonly Case[] Cases =
    [
        new("conv3x3_408_408_28", 3, 408, 408, 28, 28),
        new("conv3x3_408_816_28", 3, 408, 816, 28, 28),
        new("conv1x1_408_816_28", 1, 408, 816, 28, 28),
        new("conv3x3_168_168_64", 3, 168, 168, 64, 64),
        new("conv3x3_168_336_64", 3, 168, 336, 64, 64),
        new("conv3x3_320_640_32", 3, 320, 640, 32, 32),
        new("conv3x3_512_1024_16", 3, 512, 1024, 16, 16),
    ];

    public static Command Create()
    {
        var threads = new Option<int>("--threads") { Description = "Engine threads (default: all processors).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the results as JSON to this file." };
        var runs = new Option<int>("--runs") { Description = "Timed runs per case (median reported; at least 5).", DefaultValueFactory = _ => 7 };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 4 };
        var only = new Option<string?>("--case") { Description = "Run only the cases whose name contains this text." };
        var command = new Command("engine", "Conv2d forward/backward timings of the managed engine on the U-Flow/CS-Flow layer shapes.");
        command.Options.Add(threads);
        command.Options.Add(json);
        command.Options.Add(runs);
        command.Options.Add(batch);
        command.Options.Add(only);
        command.SetAction(parse => Run(parse.GetValue(threads), parse.GetValue(json), Math.Max(5, parse.GetValue(runs)), parse.GetValue(batch), parse.GetValue(only)));
        return command;
    }

    private static int Run(int threads, FileInfo? json, int runs, int batch, string? only)
    {
        Engine.Threads = threads;
        Console.WriteLine($"uflow bench engine: threads={threads}, batch={batch}, runs={runs} (median), kernel={Engine.Isa}, {Environment.ProcessorCount} processors");
        Console.WriteLine($"{"case",-22} {"fwd ms",9} {"bwd ms",9} {"GFLOP/s fwd",12} {"GFLOP/s bwd",12}");
        var results = new List<Dictionary<string, object>>();
        foreach (Case c in Cases.Where(c => only is null || c.Name.Contains(only, StringComparison.Ordinal)))
        {
            var (fwd, bwd) = Time(c, batch, runs);
            double flops = 2.0 * batch * c.Cout * c.Cin * c.K * c.K * c.H * c.W;
            double gfFwd = flops / (fwd * 1e6), gfBwd = 2 * flops / (bwd * 1e6);
            Console.WriteLine($"{c.Name,-22} {fwd,9:F2} {bwd,9:F2} {gfFwd,12:F1} {gfBwd,12:F1}");
            results.Add(new Dictionary<string, object>
            {
                ["name"] = c.Name, ["k"] = c.K, ["cin"] = c.Cin, ["cout"] = c.Cout, ["h"] = c.H, ["w"] = c.W, ["batch"] = batch,
                ["fwd_ms"] = Math.Round(fwd, 3), ["bwd_ms"] = Math.Round(bwd, 3),
                ["gflops_fwd"] = Math.Round(gfFwd, 2), ["gflops_bwd"] = Math.Round(gfBwd, 2),
            });
        }
        if (json is not null)
        {
            var doc = new Dictionary<string, object> { ["threads"] = threads, ["isa"] = Engine.Isa, ["cases"] = results };
            AtomicFile.WriteAllText(json.FullName, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"wrote {json.FullName}");
        }
        return 0;
    }

    /// <summary>Median forward and backward milliseconds of one case after two warm-up iterations.</summary>
    private static (double Fwd, double Bwd) Time(Case c, int batch, int runs)
    {
        var random = new SeededRandom(1);
        var conv = new Conv2d(c.Cin, c.Cout, c.K, random);
        var x = new Tensor(batch, c.Cin, c.H, c.W);
        PyTorchInit.Uniform(x.Span, -1f, 1f, random);
        var dy = new Tensor(batch, c.Cout, c.H, c.W);
        PyTorchInit.Uniform(dy.Span, -1f, 1f, random);
        var fwd = new double[runs];
        var bwd = new double[runs];
        for (int i = -2; i < runs; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            conv.Forward(x);
            long t1 = Stopwatch.GetTimestamp();
            conv.Backward(dy);
            long t2 = Stopwatch.GetTimestamp();
            if (i >= 0)
            {
                fwd[i] = Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds;
                bwd[i] = Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds;
            }
        }
        return (Median(fwd), Median(bwd));
    }

    private static double Median(double[] values)
    {
        double[] s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }
}
