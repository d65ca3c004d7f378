using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Training;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Runs U-Flow's training on cached features for <see cref="UFlowTrainer"/> on TorchSharp (<see cref="UFlowTorchTrainer"/>)
/// and hands back the fitted flow's state dictionary (the exporter's input), so that the estimator does not depend on
/// the training engine.
/// </summary>
internal static class UFlowTraining
{
    public sealed record Result(IReadOnlyDictionary<string, StateTensor> State, UFlowTrainingSummary Summary);

    public static Result Train(UFlowConfig config, FeatureCache cache, UFlowTrainer.Options options, IProgress<TrainingProgress>? progress)
    {
        int n = cache.Count, batchSize = Math.Min(options.BatchSize, n);
        int stepsPerEpoch = (n + batchSize - 1) / batchSize;
        int totalSteps = stepsPerEpoch * options.Epochs;
        var trainingOptions = new UFlowTorchTrainingOptions
        {
            Device = options.Device,
            Epochs = options.Epochs,
            BatchSize = batchSize,
            MicroBatchSize = options.MicroBatchSize,
            LearningRate = options.LearningRate,
            WeightDecay = options.WeightDecay,
            Seed = config.Seed,
        };
        using UFlowTorchTrainer trainer = options.CheckpointPath is { } saved && File.Exists(saved)
            ? Continue(saved, trainingOptions, config)
            : new UFlowTorchTrainer(config, trainingOptions);
        // Every epoch has the same number of steps (drop_last = false), so a continued run starts after the saved epochs' steps.
        int step = trainer.CompletedEpochs * stepsPerEpoch;
        double? epochLoss = null; // each step report carries the mean loss of the last finished epoch
        trainer.Options.EpochCompleted = report =>
        {
            epochLoss = report.Loss;
            if (options.CheckpointPath is not null) UFlowTorchCheckpoint.Save(trainer, options.CheckpointPath);
        };
        trainer.Options.StepCompleted = () =>
        {
            step++;
            progress?.Report(new TrainingProgress("train", step, totalSteps, epochLoss));
        };
        UFlowTrainingResult result = trainer.Train(new CacheSource(cache));
        var summary = new UFlowTrainingSummary(trainer.CompletedEpochs, step, n, result.Epochs[^1].Loss, 0, 0);
        return new Result(trainer.GetState(), summary);
    }

    private static UFlowTorchTrainer Continue(string path, UFlowTorchTrainingOptions options, UFlowConfig config)
    {
        UFlowTorchTrainer trainer = UFlowTorchCheckpoint.Load(path, options);
        try
        {
            // The configuration's text names every setting (scales, steps, ratio, clamp, LayerNorm, seed).
            if (trainer.Module.Config.ToString() != config.ToString())
            {
                throw new ArgumentException($"{nameof(UFlowTrainer)}: the checkpoint '{path}' holds the flow {trainer.Module.Config}, but these features and options make {config}; delete it to train anew.");
            }
            if (trainer.CompletedEpochs >= options.Epochs)
            {
                throw new ArgumentException($"{nameof(UFlowTrainer)}: the checkpoint '{path}' already holds {trainer.CompletedEpochs} epochs, and Epochs is {options.Epochs}: raise Epochs to train further, or delete it to train anew.");
            }
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    private sealed class CacheSource(FeatureCache cache) : IFeatureBatchSource
    {
        public int Count => cache.Count;

        public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination) => cache.ReadBatch(sampleIndices, destination);
    }
}
