using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Training;
using TorchSharp;

namespace Microsoft.ML.UFlow.Benchmarks;

// Inside namespace Microsoft.ML.*, ML.NET's namespace Microsoft.ML.Command hides System.CommandLine's Command.
using Command = System.CommandLine.Command;

/// <summary>
/// <c>uflow bench flow</c>: forward and training-step milliseconds per image of the U-shaped flow on random features on
/// TorchSharp (libtorch), and the same measured by the checked-in PyTorch script (bench/torch/flow_bench.py), with the
/// ratio PyTorch / TorchSharp (≥ 1 when TorchSharp is faster).
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
        var threads = new Option<int>("--threads") { Description = "Threads of libtorch (intra-op) and of the PyTorch script; default: all processors.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("flow", "U-Flow normalizing flow: forward and training-step ms per image on TorchSharp, against PyTorch.");
        command.Options.Add(config);
        command.Options.Add(batch);
        command.Options.Add(iters);
        command.Options.Add(json);
        command.Options.Add(torch);
        command.Options.Add(python);
        command.Options.Add(threads);
        command.SetAction(parse => Run(parse.GetValue(config)!, parse.GetValue(batch), parse.GetValue(iters), parse.GetValue(json), parse.GetValue(torch), parse.GetValue(python)!, parse.GetValue(threads)));
        return command;
    }

    private static int Run(string preset, int batch, int iters, string? jsonPath, bool runTorch, string python, int threads)
    {
        if (batch < 1 || iters < 1) throw new ArgumentOutOfRangeException(nameof(batch), "--batch and --iters must be at least 1.");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "--threads must be at least 1.");
        UFlowConfig config = UFlowConfig.FromPreset(preset);
        var random = new SeededRandom(0);
        Tensor[] features = config.Scales.Select(s =>
        {
            var t = new Tensor(batch, s.Channels, s.Height, s.Width);
            Span<float> v = t.Span;
            for (int i = 0; i < v.Length; i++) v[i] = (float)random.NextGaussian();
            return t;
        }).ToArray();
        Console.WriteLine($"flow {preset}: {config}; {config.CountTrainableParameters():N0} parameters; batch {batch}; {threads} threads");
        var result = new JsonObject
        {
            ["config"] = preset,
            ["batch"] = batch,
            ["threads"] = threads,
            ["parameters"] = config.CountTrainableParameters(),
        };

        var (forward, step, forwardCpu, stepCpu) = TimeTorchSharp(config, features, iters, batch, threads);
        Console.WriteLine($"torchsharp: forward {forward,7:F1} ms/image   train step {step,9:F1} ms/image   (CPU time: {forwardCpu:F1} / {stepCpu:F1}; libtorch {TorchSharp.torch.__version__}, {TorchSharp.torch.get_num_threads()} threads, OMP_WAIT_POLICY {Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? TorchRuntime.OpenMpWaitPolicy})");
        result["torchsharp_forward_ms_per_image"] = forward;
        result["torchsharp_train_step_ms_per_image"] = step;
        result["torchsharp_forward_cpu_ms_per_image"] = forwardCpu;
        result["torchsharp_train_step_cpu_ms_per_image"] = stepCpu;
        if (runTorch)
        {
            JsonNode? torch = RunTorch(python, preset, batch, iters, threads);
            if (torch is not null)
            {
                double tf = torch["forward_ms_per_image"]!.GetValue<double>(), ts = torch["train_step_ms_per_image"]!.GetValue<double>();
                double tfc = torch["forward_cpu_ms_per_image"]!.GetValue<double>(), tsc = torch["train_step_cpu_ms_per_image"]!.GetValue<double>();
                Console.WriteLine($"pytorch   : forward {tf,7:F1} ms/image   train step {ts,9:F1} ms/image   (CPU time: {tfc:F1} / {tsc:F1}; torch {torch["torch"]})");
                Console.WriteLine($"ratio PyTorch/TorchSharp: forward {tf / forward:F2}   train step {ts / step:F2}   (CPU time: forward {tfc / forwardCpu:F2}   train step {tsc / stepCpu:F2})");
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

    // The TorchSharp flow and trainer on the same features: forward under inference mode, training step = zero grad,
    // forward, loss, backward, Adam step; each call in its own dispose scope.
    private static (double Forward, double Step, double ForwardCpu, double StepCpu) TimeTorchSharp(UFlowConfig config, Tensor[] features, int iters, int batch, int threads)
    {
        TorchRuntime.EnsureLoaded(); // first: it sets libtorch's OpenMP wait policy before the library loads
        torch.set_num_threads(threads);
        using var trainer = new UFlowTorchTrainer(config, new UFlowTorchTrainingOptions { LearningRate = 1e-4 });
        torch.Tensor[] x = features.Select(f => HostTensorCopy.ToTorch(f, trainer.Module.Device).DetachFromDisposeScope()).ToArray();
        try
        {
            var (forward, forwardCpu) = Median(iters, batch, () =>
            {
                using var scope = torch.NewDisposeScope();
                using var inference = torch.inference_mode();
                trainer.Module.call(x);
            });
            var (step, stepCpu) = Median(iters, batch, () => trainer.Step(x));
            return (forward, step, forwardCpu, stepCpu);
        }
        finally
        {
            foreach (torch.Tensor t in x) t.Dispose();
        }
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

    private static JsonNode? RunTorch(string python, string preset, int batch, int iters, int threads)
    {
        string? script = FindScript();
        if (script is null)
        {
            Console.WriteLine("pytorch   : skipped (bench/torch/flow_bench.py not found above the current folder)");
            return null;
        }
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { script, "--config", preset, "--batch", batch.ToString(), "--iters", iters.ToString(), "--threads", threads.ToString() }) info.ArgumentList.Add(a);
        try
        {
            using Process p = Process.Start(info)!;
            string stdout = p.StandardOutput.ReadToEnd();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            string? line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
            if (p.ExitCode != 0 || line is null)
            {
                Console.WriteLine($"pytorch   : failed (exit {p.ExitCode}): {stderr.Trim()}");
                return null;
            }
            return JsonNode.Parse(line);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.WriteLine($"pytorch   : skipped ({python}: {e.Message})");
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
