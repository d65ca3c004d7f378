using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Runs CS-Flow's training on cached features for <see cref="CsFlowTrainer"/> and hands back the network's options and
/// state dictionary (the exporter's input).
/// </summary>
internal static class CsFlowTraining
{
    public sealed record Result(CsFlowNetworkOptions Network, IReadOnlyDictionary<string, StateTensor> State, UFlowTrainingSummary Summary);

    public static Result Train(FeatureCache cache, int channels, CsFlowTrainer.Options options, IProgress<TrainingProgress>? progress)
    {
        int n = cache.Count, batch = Math.Min(options.BatchSize, n);
        int totalSteps = (n + batch - 1) / batch * options.Epochs;
        var trainer = new Flows.CsFlow.CsFlowTrainer(new CsFlowTrainerOptions
        {
            Epochs = options.Epochs,
            BatchSize = batch,
            LearningRate = options.LearningRate,
            ShuffleSeed = (ulong)(uint)options.Seed,
            Network = new CsFlowNetworkOptions { Channels = channels, HiddenChannels = options.HiddenChannels, Seed = (ulong)(uint)options.Seed },
        });
        CsFlowTrainingState state = options.CheckpointPath is { } saved && File.Exists(saved)
            ? Continue(saved, trainer)
            : trainer.Start(new CsFlowModel(new CsFlowNetwork(trainer.Options.Network.Clone())));
        int step = state.Optimizer.StepCount;
        double? epochLoss = null; // each step report carries the mean loss of the last finished epoch
        trainer.Options.StepCompleted = () =>
        {
            step++;
            progress?.Report(new TrainingProgress("train", step, totalSteps, epochLoss));
        };
        trainer.Train(state, new CacheSource(cache), new EpochSink(report =>
        {
            epochLoss = report.MeanLoss;
            if (options.CheckpointPath is not null) CsFlowTrainingCheckpoint.Save(trainer, state, options.CheckpointPath);
            progress?.Report(new TrainingProgress("train", step, totalSteps, epochLoss));
        }));
        var summary = new UFlowTrainingSummary(state.CompletedEpochs, step, n, epochLoss ?? double.NaN, 0, 0);
        return new Result(trainer.Options.Network.Clone(), FlowStateDictionary.Of(state.Model.Network), summary);
    }

    private static CsFlowTrainingState Continue(string path, Flows.CsFlow.CsFlowTrainer trainer)
    {
        CsFlowTrainingState state = CsFlowTrainingCheckpoint.Load(path, trainer);
        if (state.CompletedEpochs >= trainer.Options.Epochs)
        {
            throw new ArgumentException($"{nameof(CsFlowTrainer)}: the checkpoint '{path}' already holds {state.CompletedEpochs} epochs, and Epochs is {trainer.Options.Epochs}: raise Epochs to train further, or delete it to train anew.");
        }
        return state;
    }

    private sealed class EpochSink(Action<CsFlowEpochReport> onEpoch) : IProgress<CsFlowEpochReport>
    {
        public void Report(CsFlowEpochReport value) => onEpoch(value);
    }

    private sealed class CacheSource(FeatureCache cache) : IFeatureBatchSource
    {
        public int Count => cache.Count;

        public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination) => cache.ReadBatch(sampleIndices, destination);
    }
}
