using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Training;
using TorchSharp;
using Xunit.Abstractions;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// Seeded mutation fuzzing of the two TorchSharp training-checkpoint formats (<see cref="UFlowTorchCheckpoint"/>,
/// <see cref="CsFlowTorchCheckpoint"/>) with <see cref="FileMutations"/>. Every mutated file must either load, or be
/// refused with an <see cref="InvalidDataException"/> (damaged) or an <see cref="ArgumentException"/> (a saved setting
/// now differs from the trainer's) whose message names the file. Anything else (out of memory, overflow, a libtorch
/// error, a huge allocation because of a corrupted size) fails the test with the case number.
/// </summary>
public sealed class TorchCheckpointFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Cases = 600;

    private readonly string _dir = Directory.CreateTempSubdirectory("uflow-ckpt-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static UFlowTorchTrainingOptions UFlowSettings => new() { LearningRate = 1e-3, BatchSize = 4, Epochs = 1, Seed = 9 };

    private static CsFlowTrainerOptions CsFlowSettings => new()
    {
        Epochs = 1,
        BatchSize = 3,
        LearningRate = 2e-3,
        ShuffleSeed = 7,
        Network = new CsFlowNetworkOptions { HiddenChannels = 4, KernelSizes = [3, 1], Seed = 2 },
    };

    [Fact]
    public void UFlowCheckpointMutationsLoadOrAreRefusedNamingTheFile()
    {
        string path = Path.Combine(_dir, "uflow.ckpt");
        var config = new UFlowConfig([new(3, 4, 4), new(8, 2, 2)]) { Seed = 3, FeatureLayerNorm = true };
        using (var trainer = new UFlowTorchTrainer(config, UFlowSettings))
        {
            trainer.Train(new InMemoryFeatureSource(TestFeatures.Features(config, 5, new SeededRandom(2))));
            UFlowTorchCheckpoint.Save(trainer, path);
        }
        Fuzz(File.ReadAllBytes(path), "uflow-mutated.ckpt", file => UFlowTorchCheckpoint.Load(file, UFlowSettings).Dispose(), seed: 21);
    }

    [Fact]
    public void CsFlowCheckpointMutationsLoadOrAreRefusedNamingTheFile()
    {
        string path = Path.Combine(_dir, "csflow.ckpt");
        torch.Tensor[] x = TestFeatures.CsFlowScales(4, 4, 8, 8, seed: 3).Select(t => HostTensorCopy.ToTorch(t, torch.CPU)).ToArray();
        var trainer = new CsFlowTorchTrainer(CsFlowSettings);
        using (CsFlowTorchTrainingState state = trainer.Start(trainer.CreateModule(x)))
        {
            trainer.Train(state, x);
            CsFlowTorchCheckpoint.Save(trainer, state, path);
        }
        foreach (torch.Tensor t in x) t.Dispose();
        Fuzz(File.ReadAllBytes(path), "csflow-mutated.ckpt", file => CsFlowTorchCheckpoint.Load(file, new CsFlowTorchTrainer(CsFlowSettings)).Dispose(), seed: 22);
    }

    private void Fuzz(byte[] original, string name, Action<string> load, int seed)
    {
        string file = Path.Combine(_dir, name);
        File.WriteAllBytes(file, original);
        load(file); // the unmutated file loads
        var random = new Random(seed);
        int loaded = 0, damaged = 0, settings = 0;
        for (int i = 0; i < Cases; i++)
        {
            File.WriteAllBytes(file, FileMutations.Mutate(original, random, i));
            try
            {
                load(file);
                loaded++;
            }
            catch (InvalidDataException e)
            {
                Assert.True(e.Message.Contains(file, StringComparison.Ordinal), $"case {i}: the message does not name the file: {e.Message}");
                damaged++;
            }
            catch (ArgumentException e) when (e is not ArgumentOutOfRangeException && e.Message.Contains("a continued run needs the same settings", StringComparison.Ordinal))
            {
                Assert.True(e.Message.Contains(file, StringComparison.Ordinal), $"case {i}: the message does not name the file: {e.Message}");
                settings++;
            }
            catch (Exception e)
            {
                Assert.Fail($"case {i} (seed {seed}) threw {e.GetType().Name}: {e.Message}");
            }
        }
        output.WriteLine($"{name}: {Cases} mutations of {original.Length} bytes: {loaded} loaded, {damaged} refused as damaged, {settings} refused for a changed setting");
        // Both outcomes must be common, or the fuzzing never reached the deeper paths.
        Assert.True(damaged > Cases / 4, $"{damaged} refused as damaged");
        Assert.True(loaded > Cases / 20, $"{loaded} loaded");
    }
}
