using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Training;
using TorchSharp;
using ManagedTensor = Microsoft.ML.UFlow.Tensors.Tensor;

namespace Microsoft.ML.UFlow.Cli.Bench;

// ML.NET's namespace Microsoft.ML.Command would hide System.CommandLine.Command here.
using Command = System.CommandLine.Command;

/// <summary>
/// <c>uflow bench torchcsflow</c>: CS-Flow's training step and forward pass on TorchSharp (libtorch) beside the managed
/// engine, in the same process, on the same weights (imported from the managed network) and the same random
/// features, interleaved step by step so that both see the same machine load; prints the ratio engine / TorchSharp.
/// </summary>
internal static class TorchCsFlowBenchCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var channels = new Option<int>("--channels") { Description = "Feature channels (ResNet-50 v2 layer3: 1024).", DefaultValueFactory = _ => 1024 };
        var featureSize = new Option<int>("--feature-size") { Description = "Side of the scale-0 feature map (12 at 192 px: maps 12/6/3).", DefaultValueFactory = _ => 12 };
        var hidden = new Option<int>("--hidden") { Description = "Hidden width of the subnetworks (the MTD runs: 64; CS-Flow: 1024).", DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch") { Description = "Batch size (CS-Flow: 16).", DefaultValueFactory = _ => 16 };
        var steps = new Option<int>("--steps") { Description = "Timed rounds after one warm-up round (median reported).", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "Threads of both engines.", DefaultValueFactory = _ => 2 };
        var json = new Option<string?>("--json") { Description = "Also write the timings (seconds) to this JSON file." };
        var cmd = new Command("torchcsflow", "CS-Flow training step and forward: TorchSharp beside the managed engine, same weights, same run.");
        foreach (Option o in new Option[] { channels, featureSize, hidden, batch, steps, threads, json }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Run(r.GetValue(channels), r.GetValue(featureSize), r.GetValue(hidden), r.GetValue(batch), r.GetValue(steps), r.GetValue(threads), r.GetValue(json));
            return 0;
        });
        return cmd;
    }

    private static void Run(int channels, int featureSize, int hidden, int batch, int steps, int threads, string? jsonPath)
    {
        if (batch < 1 || steps < 1 || threads < 1) throw new ArgumentOutOfRangeException(nameof(batch), "--batch, --steps and --threads must be at least 1.");
        if (featureSize < 4 || featureSize % 4 != 0) throw new ArgumentOutOfRangeException(nameof(featureSize), featureSize, "--feature-size must be a positive multiple of 4.");
        Tensors.Engine.Threads = threads;
        TorchRuntime.EnsureLoaded();
        torch.set_num_threads(threads);

        var options = new CsFlowNetworkOptions { Channels = channels, HiddenChannels = hidden };
        var managed = new CsFlowNetwork(options);
        // γ ≠ 0 so that both flows do real work in every term (fresh γ = 0 makes the coupling the identity).
        for (int k = 0; k < managed.BlockCount; k++)
        {
            for (int s = 0; s < 3; s++)
            {
                managed.Coupling(k).S1.Gamma(s).Value.Span[0] = 0.1f;
                managed.Coupling(k).S2.Gamma(s).Value.Span[0] = 0.1f;
            }
        }
        var random = new SeededRandom(1);
        ManagedTensor[] x = Enumerable.Range(0, 3).Select(s =>
        {
            var t = new ManagedTensor(batch, channels, featureSize >> s, featureSize >> s);
            for (int i = 0; i < t.Length; i++) t.Span[i] = (float)random.NextGaussian();
            return t;
        }).ToArray();
        var adamManaged = new Optim.Adam(managed.Parameters, new Optim.AdamOptions { LearningRate = 2e-4, Epsilon = 1e-4, WeightDecay = 1e-5 });
        ManagedTensor[] gradZ = [new(1), new(1), new(1)];
        var gradLogDet = new double[batch];

        using CsFlowModule module = CsFlowStateDictionary.ToModule(CsFlowStateDictionary.FromManaged(managed), options);
        torch.Tensor[] xTorch = x.Select(t => torch.tensor(t.Span.ToArray(), t.Shape.ToArray().Select(d => (long)d).ToArray())).ToArray();
        using var loss = new CsFlowNll();
        var trainerOptions = new CsFlowTrainerOptions();
        using var adamTorch = new HeldScalarAdam(module.parameters(), trainerOptions.LearningRate, trainerOptions.Beta1, trainerOptions.Beta2, trainerOptions.AdamEpsilon, trainerOptions.WeightDecay);
        long[] all = Enumerable.Range(0, batch).Select(i => (long)i).ToArray();

        Console.WriteLine($"CS-Flow, C={channels}, features {featureSize}/{featureSize / 2}/{featureSize / 4}, hidden {hidden}, kernels [{string.Join(", ", options.KernelSizes)}], batch {batch}, " +
                          $"{managed.ParameterCount / 1e6:F1} M parameters; {threads} threads each (engine GEMM {Tensors.Engine.Isa}; libtorch {torch.__version__}, " +
                          $"{torch.get_num_threads()} intra-op threads); {steps} timed rounds after a warm-up, engine and TorchSharp interleaved");

        void ManagedStep()
        {
            adamManaged.ZeroGrad();
            (IReadOnlyList<ManagedTensor> z, double[] ld) = managed.Forward(x);
            CsFlowLoss.Compute(z, ld, gradZ, gradLogDet);
            managed.Backward(gradZ, gradLogDet);
            Optim.GradientClipping.ClipGradNorm(managed.Parameters, 1.0);
            adamManaged.Step();
        }

        void TorchStep() => CsFlowTorchTrainer.Step(module, loss, adamTorch, xTorch, all, 1.0, epoch: 1, step: 0);

        void ManagedForward() => managed.Forward(x);

        void TorchForward()
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            module.call(xTorch);
        }

        var times = new Dictionary<string, List<(double Wall, double Cpu)>>
        {
            ["engine_step"] = [], ["torch_step"] = [], ["engine_forward"] = [], ["torch_forward"] = [],
        };
        using Process self = Process.GetCurrentProcess();
        for (int round = 0; round <= steps; round++)
        {
            foreach ((string name, Action action) in new (string, Action)[] { ("engine_step", ManagedStep), ("torch_step", TorchStep), ("engine_forward", ManagedForward), ("torch_forward", TorchForward) })
            {
                self.Refresh();
                TimeSpan cpu0 = self.TotalProcessorTime;
                long t0 = Stopwatch.GetTimestamp();
                action();
                double wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                self.Refresh();
                double cpu = (self.TotalProcessorTime - cpu0).TotalSeconds;
                if (round > 0) times[name].Add((wall, cpu));
                Console.WriteLine(string.Create(Inv, $"{(round == 0 ? "warm-up" : "round " + round)} {name,-14}: {wall,8:F3} s wall, {cpu,8:F3} s CPU"));
            }
        }

        double Median(string name, bool cpu)
        {
            double[] v = times[name].Select(t => cpu ? t.Cpu : t.Wall).Order().ToArray();
            return v.Length % 2 == 1 ? v[v.Length / 2] : 0.5 * (v[v.Length / 2 - 1] + v[v.Length / 2]);
        }

        double es = Median("engine_step", false), ts = Median("torch_step", false), ef = Median("engine_forward", false), tf = Median("torch_forward", false);
        Console.WriteLine(string.Create(Inv, $"training step  : engine {es:F3} s, TorchSharp {ts:F3} s per step of {batch} (CPU {Median("engine_step", true):F3} / {Median("torch_step", true):F3} s); TorchSharp speed = {es / ts:F2}x the engine's"));
        Console.WriteLine(string.Create(Inv, $"forward        : engine {ef / batch * 1000:F1} ms, TorchSharp {tf / batch * 1000:F1} ms per image (CPU {Median("engine_forward", true) / batch * 1000:F1} / {Median("torch_forward", true) / batch * 1000:F1} ms); TorchSharp speed = {ef / tf:F2}x the engine's"));
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new
            {
                channels, feature_size = featureSize, hidden, batch, threads,
                engine_step_s = times["engine_step"].Select(t => t.Wall).ToArray(),
                torch_step_s = times["torch_step"].Select(t => t.Wall).ToArray(),
                engine_forward_s = times["engine_forward"].Select(t => t.Wall).ToArray(),
                torch_forward_s = times["torch_forward"].Select(t => t.Wall).ToArray(),
            }));
        }
        foreach (torch.Tensor t in xTorch) t.Dispose();
    }
}
