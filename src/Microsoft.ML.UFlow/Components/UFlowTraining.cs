using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Runs U-Flow's training on cached features for <see cref="UFlowTrainer"/> and hands back the fitted flow's state
/// dictionary (the exporter's input), so that the estimator does not depend on the training engine.
/// </summary>
internal static class UFlowTraining
{
    public sealed record Result(IReadOnlyDictionary<string, StateTensor> State, UFlowTrainingSummary Summary);

    public static Result Train(UFlowConfig config, FeatureCache cache, UFlowTrainer.Options options, IProgress<TrainingProgress>? progress)
    {
        int n = cache.Count, batchSize = Math.Min(options.BatchSize, n);
        int totalSteps = (n + batchSize - 1) / batchSize * options.Epochs;
        double runningLoss = double.NaN;
        var trainingOptions = new UFlowTrainingOptions
        {
            Epochs = options.Epochs,
            BatchSize = batchSize,
            MicroBatchSize = options.MicroBatchSize,
            LearningRate = options.LearningRate,
            WeightDecay = options.WeightDecay,
            Seed = config.Seed,
        };
        Flows.UFlowTrainer trainer = options.CheckpointPath is { } saved && File.Exists(saved)
            ? Continue(saved, trainingOptions, config)
            : new Flows.UFlowTrainer(new UShapedFlow(config), trainingOptions);
        int step = trainer.Optimizer.StepCount;
        trainingOptions.EpochCompleted = report =>
        {
            runningLoss = report.Loss;
            if (options.CheckpointPath is not null) UFlowTrainingCheckpoint.Save(trainer, options.CheckpointPath);
        };
        trainingOptions.StepCompleted = () =>
        {
            step++;
            progress?.Report(new TrainingProgress("train", step, totalSteps, double.IsNaN(runningLoss) ? null : runningLoss));
        };
        var result = trainer.Train(new CacheSource(cache));
        var summary = new UFlowTrainingSummary(trainer.CompletedEpochs, step, n, result.Epochs[^1].Loss, 0, 0);
        return new Result(FlowStateDictionary.Of(trainer.Flow), summary);
    }

    private static Flows.UFlowTrainer Continue(string path, UFlowTrainingOptions options, UFlowConfig config)
    {
        Flows.UFlowTrainer trainer = UFlowTrainingCheckpoint.Load(path, options);
        // The configuration's text names every setting (scales, steps, ratio, clamp, LayerNorm, seed).
        if (trainer.Flow.Config.ToString() != config.ToString())
        {
            throw new ArgumentException($"{nameof(UFlowTrainer)}: the checkpoint '{path}' holds the flow {trainer.Flow.Config}, but these features and options make {config}; delete it to train anew.");
        }
        if (trainer.CompletedEpochs >= options.Epochs)
        {
            throw new ArgumentException($"{nameof(UFlowTrainer)}: the checkpoint '{path}' already holds {trainer.CompletedEpochs} epochs, and Epochs is {options.Epochs}: raise Epochs to train further, or delete it to train anew.");
        }
        return trainer;
    }

    private sealed class CacheSource(FeatureCache cache) : IFeatureBatchSource
    {
        public int Count => cache.Count;

        public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination) => cache.ReadBatch(sampleIndices, destination);
    }
}
