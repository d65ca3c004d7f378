using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// Memory discipline of <see cref="UFlowTorchTrainer"/>: every step's tensors die inside its dispose scope (none is left
/// in an enclosing scope, the thread's live-tensor count is the same after every epoch) and the process's resident memory
/// does not grow per epoch. Runs alone (resident memory is process-wide).
/// </summary>
[Collection(NativeMemoryCollection.Name)]
public sealed class UFlowTorchTrainerMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void No_tensor_survives_a_step_and_native_memory_does_not_grow_per_epoch()
    {
        // Steps big enough that keeping one step's activations would show: 8 samples of 24@32² + 32@16² + 96@8², LayerNorm.
        UFlowConfig config = UFlowConfig.MobileNetV2(inputSize: 128, seed: 1);
        var random = new SeededRandom(5);
        var source = new InMemoryFeatureSource(TestFeatures.Features(config, 16, random));
        const int epochs = 10;
        var live = new long[epochs];
        var inScope = new int[epochs];
        var rss = new long[epochs];
        using var outer = NewDisposeScope();
        var options = new UFlowTorchTrainingOptions { LearningRate = 1e-4, BatchSize = 8, Epochs = epochs };
        using var trainer = new UFlowTorchTrainer(config, options);
        options.EpochCompleted = r =>
        {
            inScope[r.Epoch] = outer.DisposablesCount;
            live[r.Epoch] = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            rss[r.Epoch] = Environment.WorkingSet;
        };
        trainer.Train(source);
        for (int e = 0; e < epochs; e++) output.WriteLine($"epoch {e}: tensors left in the enclosing scope {inScope[e]}, live tensors on this thread {live[e]}, RSS {rss[e] / 1e6:F1} MB");
        Assert.All(inScope, n => Assert.Equal(0, n));
        Assert.All(live, n => Assert.Equal(live[0], n));
        // One training step here allocates tens of MB of activations; a leak of even one step per epoch would add that
        // every epoch. After three epochs of allocator warm-up, allow 32 MB of allocator noise over the last seven.
        Assert.True(rss[^1] - rss[3] < 32_000_000, $"RSS grew from {rss[3] / 1e6:F1} MB after epoch 3 to {rss[^1] / 1e6:F1} MB after epoch {epochs - 1}");
    }
}

/// <summary>Tests that measure the process's resident memory run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeMemoryCollection
{
    /// <summary>The collection name.</summary>
    public const string Name = "native memory";
}
