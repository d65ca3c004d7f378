using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Cli.Bench;

// Inside namespace Microsoft.ML.*, ML.NET's namespace Microsoft.ML.Command hides System.CommandLine's Command, and
// the managed engine's UFlowTrainer is hidden by the ML.NET estimator of the same name.
using Command = System.CommandLine.Command;
using UFlowTrainer = Microsoft.ML.UFlow.Flows.UFlowTrainer;

/// <summary>
/// <c>uflow bench flow</c>: forward and training-step milliseconds per image of the U-shaped flow on random features,
/// and the same measured by the checked-in PyTorch script (bench/torch/flow_bench.py), with the ratio PyTorch / ours.
/// </summary>
internal static class FlowBenchCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "Flow preset: mscait, resnet50v2 or mobilenetv2.", DefaultValueFactory = _ => "resnet50v2" };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 8 };
        var iters = new Option<int>("--iters") { Description = "Timed iterations (median reported).", DefaultValueFactory = _ => 5 };
        var json = new Option<string?>("--json") { Description = "Also write the results to this JSON file." };
        var torch = new Option<bool>("--torch") { Description = "Run the PyTorch script for the reference timing.", DefaultValueFactory = _ => true };
        var python = new Option<string>("--python") { Description = "Python with torch.", DefaultValueFactory = _ => "/usr/bin/python3" };
        var command = new Command("flow", "U-Flow normalizing flow: forward and training-step ms per image, against PyTorch.");
        command.Options.Add(config);
        command.Options.Add(batch);
        command.Options.Add(iters);
        command.Options.Add(json);
        command.Options.Add(torch);
        command.Options.Add(python);
        command.SetAction(parse => Run(parse.GetValue(config)!, parse.GetValue(batch), parse.GetValue(iters), parse.GetValue(json), parse.GetValue(torch), parse.GetValue(python)!));
        return command;
    }

    private static int Run(string preset, int batch, int iters, string? jsonPath, bool runTorch, string python)
    {
        if (batch < 1 || iters < 1) throw new ArgumentOutOfRangeException(nameof(batch), "--batch and --iters must be at least 1.");
        UFlowConfig config = UFlowConfig.FromPreset(preset);
        var flow = new UShapedFlow(config);
        var random = new SeededRandom(0);
        Tensor[] features = config.Scales.Select(s =>
        {
            var t = new Tensor(batch, s.Channels, s.Height, s.Width);
            Span<float> v = t.Span;
            for (int i = 0; i < v.Length; i++) v[i] = (float)random.NextGaussian();
            return t;
        }).ToArray();
        var trainer = new UFlowTrainer(flow, new UFlowTrainingOptions { LearningRate = 1e-4 });
        Console.WriteLine($"flow {preset}: {config}; {flow.TrainableParameterCount:N0} parameters; batch {batch}; {Engine.Threads} threads; GEMM {Engine.Isa}");

        var (forward, forwardCpu) = Median(iters, batch, () => flow.Forward(features));
        var (step, stepCpu) = Median(iters, batch, () => trainer.Step(features));
        Console.WriteLine($"ours    : forward {forward,9:F1} ms/image   train step {step,9:F1} ms/image   (CPU time: {forwardCpu:F1} / {stepCpu:F1})");

        var result = new JsonObject
        {
            ["config"] = preset,
            ["batch"] = batch,
            ["threads"] = Engine.Threads,
            ["parameters"] = flow.TrainableParameterCount,
            ["ours_forward_ms_per_image"] = forward,
            ["ours_train_step_ms_per_image"] = step,
            ["ours_forward_cpu_ms_per_image"] = forwardCpu,
            ["ours_train_step_cpu_ms_per_image"] = stepCpu,
        };
        if (runTorch)
        {
            JsonNode? torch = RunTorch(python, preset, batch, iters);
            if (torch is not null)
            {
                double tf = torch["forward_ms_per_image"]!.GetValue<double>(), ts = torch["train_step_ms_per_image"]!.GetValue<double>();
                double tfc = torch["forward_cpu_ms_per_image"]!.GetValue<double>(), tsc = torch["train_step_cpu_ms_per_image"]!.GetValue<double>();
                Console.WriteLine($"pytorch : forward {tf,9:F1} ms/image   train step {ts,9:F1} ms/image   (CPU time: {tfc:F1} / {tsc:F1}; torch {torch["torch"]})");
                Console.WriteLine($"ratio PyTorch/ours: forward {tf / forward:F2}   train step {ts / step:F2}   (CPU time: forward {tfc / forwardCpu:F2}   train step {tsc / stepCpu:F2})");
                result["pytorch_forward_cpu_ms_per_image"] = tfc;
                result["pytorch_train_step_cpu_ms_per_image"] = tsc;
                result["ratio_forward_cpu"] = tfc / forwardCpu;
                result["ratio_train_step_cpu"] = tsc / stepCpu;
                result["pytorch_forward_ms_per_image"] = tf;
                result["pytorch_train_step_ms_per_image"] = ts;
                result["ratio_forward"] = tf / forward;
                result["ratio_train_step"] = ts / step;
                result["torch_version"] = torch["torch"]!.GetValue<string>();
            }
        }
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"wrote {jsonPath}");
        }
        return 0;
    }

    // One warm-up call, then the medians of the timed calls' wall-clock and process CPU time, in ms per image.
    private static (double Wall, double Cpu) Median(int iters, int batch, Action action)
    {
        action();
        var wall = new double[iters];
        var cpu = new double[iters];
        using Process self = Process.GetCurrentProcess();
        for (int i = 0; i < iters; i++)
        {
            self.Refresh();
            TimeSpan c0 = self.TotalProcessorTime;
            long t0 = Stopwatch.GetTimestamp();
            action();
            wall[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds / batch;
            self.Refresh();
            cpu[i] = (self.TotalProcessorTime - c0).TotalMilliseconds / batch;
        }
        return (MedianOf(wall), MedianOf(cpu));
    }

    private static double MedianOf(double[] values)
    {
        Array.Sort(values);
        int n = values.Length;
        return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    }

    private static JsonNode? RunTorch(string python, string preset, int batch, int iters)
    {
        string? script = FindScript();
        if (script is null)
        {
            Console.WriteLine("pytorch : skipped (bench/torch/flow_bench.py not found above the current folder)");
            return null;
        }
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { script, "--config", preset, "--batch", batch.ToString(), "--iters", iters.ToString(), "--threads", Engine.Threads.ToString() }) info.ArgumentList.Add(a);
        try
        {
            using Process p = Process.Start(info)!;
            string stdout = p.StandardOutput.ReadToEnd();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            string? line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
            if (p.ExitCode != 0 || line is null)
            {
                Console.WriteLine($"pytorch : failed (exit {p.ExitCode}): {stderr.Trim()}");
                return null;
            }
            return JsonNode.Parse(line);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.WriteLine($"pytorch : skipped ({python}: {e.Message})");
            return null;
        }
    }

    private static string? FindScript()
    {
        for (string? dir = Directory.GetCurrentDirectory(); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            string candidate = Path.Combine(dir, "bench", "torch", "flow_bench.py");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
