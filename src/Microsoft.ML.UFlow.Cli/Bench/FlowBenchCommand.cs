using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Training;
using TorchSharp;

namespace Microsoft.ML.UFlow.Cli.Bench;

// Inside namespace Microsoft.ML.*, ML.NET's namespace Microsoft.ML.Command hides System.CommandLine's Command, and
// the managed engine's UFlowTrainer is hidden by the ML.NET estimator of the same name.
using Command = System.CommandLine.Command;
using UFlowTrainer = Microsoft.ML.UFlow.Flows.UFlowTrainer;

/// <summary>
/// <c>uflow bench flow</c>: forward and training-step milliseconds per image of the U-shaped flow on random features, on
/// the managed engine and on TorchSharp (libtorch) in the same run with the ratio engine / TorchSharp (≥ 1 when TorchSharp is
/// faster), and the same measured by the checked-in PyTorch script (bench/torch/flow_bench.py), with the ratio PyTorch / ours.
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
        var torchSharp = new Option<bool>("--torchsharp") { Description = "Also time the TorchSharp flow (UFlowModule + Adam) in this process.", DefaultValueFactory = _ => true };
        var managed = new Option<bool>("--managed") { Description = "Time the managed engine's flow.", DefaultValueFactory = _ => true };
        var threads = new Option<int>("--threads") { Description = "Threads of the managed engine and of libtorch (intra-op); default: all processors.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("flow", "U-Flow normalizing flow: forward and training-step ms per image, managed engine against TorchSharp and PyTorch.");
        command.Options.Add(config);
        command.Options.Add(batch);
        command.Options.Add(iters);
        command.Options.Add(json);
        command.Options.Add(torch);
        command.Options.Add(python);
        command.Options.Add(torchSharp);
        command.Options.Add(managed);
        command.Options.Add(threads);
        command.SetAction(parse => Run(parse.GetValue(config)!, parse.GetValue(batch), parse.GetValue(iters), parse.GetValue(json), parse.GetValue(torch), parse.GetValue(python)!,
            parse.GetValue(torchSharp), parse.GetValue(managed), parse.GetValue(threads)));
        return command;
    }

    private static int Run(string preset, int batch, int iters, string? jsonPath, bool runTorch, string python, bool runTorchSharp, bool runManaged, int threads)
    {
        if (batch < 1 || iters < 1) throw new ArgumentOutOfRangeException(nameof(batch), "--batch and --iters must be at least 1.");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "--threads must be at least 1.");
        Engine.Threads = threads;
        UFlowConfig config = UFlowConfig.FromPreset(preset);
        var random = new SeededRandom(0);
        Tensor[] features = config.Scales.Select(s =>
        {
            var t = new Tensor(batch, s.Channels, s.Height, s.Width);
            Span<float> v = t.Span;
            for (int i = 0; i < v.Length; i++) v[i] = (float)random.NextGaussian();
            return t;
        }).ToArray();
        Console.WriteLine($"flow {preset}: {config}; {config.CountTrainableParameters():N0} parameters; batch {batch}; {threads} threads; GEMM {Engine.Isa}");
        var result = new JsonObject
        {
            ["config"] = preset,
            ["batch"] = batch,
            ["threads"] = threads,
            ["parameters"] = config.CountTrainableParameters(),
        };

        double forward = double.NaN, step = double.NaN, forwardCpu = double.NaN, stepCpu = double.NaN;
        if (runManaged)
        {
            var flow = new UShapedFlow(config);
            var trainer = new UFlowTrainer(flow, new UFlowTrainingOptions { LearningRate = 1e-4 });
            (forward, forwardCpu) = Median(iters, batch, () => flow.Forward(features));
            (step, stepCpu) = Median(iters, batch, () => trainer.Step(features));
            Console.WriteLine($"ours    : forward {forward,9:F1} ms/image   train step {step,9:F1} ms/image   (CPU time: {forwardCpu:F1} / {stepCpu:F1})");
            result["ours_forward_ms_per_image"] = forward;
            result["ours_train_step_ms_per_image"] = step;
            result["ours_forward_cpu_ms_per_image"] = forwardCpu;
            result["ours_train_step_cpu_ms_per_image"] = stepCpu;
        }
        if (runTorchSharp)
        {
            var (tf, ts, tfc, tsc) = TimeTorchSharp(config, features, iters, batch, threads);
            Console.WriteLine($"torchsharp: forward {tf,7:F1} ms/image   train step {ts,9:F1} ms/image   (CPU time: {tfc:F1} / {tsc:F1}; libtorch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY {Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? TorchRuntime.OpenMpWaitPolicy})");
            result["torchsharp_forward_ms_per_image"] = tf;
            result["torchsharp_train_step_ms_per_image"] = ts;
            result["torchsharp_forward_cpu_ms_per_image"] = tfc;
            result["torchsharp_train_step_cpu_ms_per_image"] = tsc;
            if (runManaged)
            {
                // Speed of TorchSharp relative to the engine: engine time / TorchSharp time (≥ 1 when TorchSharp is faster).
                Console.WriteLine($"ratio engine/TorchSharp: forward {forward / tf:F2}   train step {step / ts:F2}   (CPU time: forward {forwardCpu / tfc:F2}   train step {stepCpu / tsc:F2})");
                result["ratio_engine_over_torchsharp_forward"] = forward / tf;
                result["ratio_engine_over_torchsharp_train_step"] = step / ts;
                result["ratio_engine_over_torchsharp_forward_cpu"] = forwardCpu / tfc;
                result["ratio_engine_over_torchsharp_train_step_cpu"] = stepCpu / tsc;
            }
        }
        if (runTorch && runManaged)
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
