using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Training;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Runs U-Flow's training on cached features for <see cref="UFlowTrainer"/> on TorchSharp (<see cref="UFlowTorchTrainer"/>)
/// and hands back the fitted flow's state dictionary (the exporter's input), so that the estimator does not depend on
/// the training engine. Holds out <see cref="UFlowTrainer.Options.HeldOutFraction"/> of the images, evaluates the flow
/// on them after every epoch (the early-stopping metric: minus their loss) and once more on the exported weights.
/// </summary>
internal static class UFlowTraining
{
    public sealed record Result(IReadOnlyDictionary<string, StateTensor> State, UFlowTrainingSummary Summary);

    public static Result Train(UFlowConfig config, FeatureCache cache, UFlowTrainer.Options options, IProgress<TrainingProgress>? progress)
    {
        HeldOutSplit split = HeldOutSplit.Choose(cache.Count, options.HeldOutFraction, options.Seed, nameof(UFlowTrainer));
        var all = new CacheSource(cache);
        var source = new SubsetFeatureSource(all, split.Training);
        var heldOutSource = split.HeldOut.Length == 0 ? null : new SubsetFeatureSource(all, split.HeldOut);
        int n = source.Count, batchSize = Math.Min(options.BatchSize, n);
        int stepsPerEpoch = (n + batchSize - 1) / batchSize;
        int totalSteps = stepsPerEpoch * options.Epochs;
        var heldOut = heldOutSource is null ? null : new UFlowHeldOutEvaluator(heldOutSource, config.Scales.Count, Math.Min(options.MicroBatchSize ?? batchSize, batchSize));
        HeldOutEvaluation? lastHeldOut = null;
        bool stopEarly = options.EarlyStoppingPatience > 0;
        var trainingOptions = new UFlowTorchTrainingOptions
        {
            Device = options.Device,
            Epochs = options.Epochs,
            BatchSize = batchSize,
            MicroBatchSize = options.MicroBatchSize,
            LearningRate = options.LearningRate,
            WeightDecay = options.WeightDecay,
            Seed = config.Seed,
            // Every epoch is evaluated on the held-out images; only early stopping acts on it (higher metric = lower loss).
            EarlyStoppingPatience = stopEarly ? options.EarlyStoppingPatience : int.MaxValue,
            RestoreBestWeights = stopEarly,
            ValidationMetric = heldOut is null ? null : (flow, _) =>
            {
                lastHeldOut = heldOut.Evaluate(flow);
                return -lastHeldOut.Loss;
            },
        };
        TrainingDataFingerprint? heldOutData = heldOutSource is null ? null : TrainingDataFingerprint.Of(heldOutSource, config.Scales.Count);
        using UFlowTorchTrainer trainer = options.CheckpointPath is { } saved && File.Exists(saved)
            ? Continue(saved, trainingOptions, config, split, heldOutData)
            : new UFlowTorchTrainer(config, trainingOptions);
        trainer.HeldOut = split;
        trainer.HeldOutData = heldOutData;
        // Every epoch has the same number of steps (drop_last = false), so a continued run starts after the saved epochs' steps.
        int step = trainer.CompletedEpochs * stepsPerEpoch;
        double? epochLoss = null; // each step report carries the mean loss of the last finished epoch
        trainer.Options.EpochCompleted = report =>
        {
            epochLoss = report.Loss;
            progress?.Report(new TrainingProgress("epoch", report.Epoch + 1, options.Epochs, report.Loss, lastHeldOut));
            if (options.CheckpointPath is not null) UFlowTorchCheckpoint.Save(trainer, options.CheckpointPath);
        };
        trainer.Options.StepCompleted = () =>
        {
            step++;
            progress?.Report(new TrainingProgress("train", step, totalSteps, epochLoss, lastHeldOut));
        };
        UFlowTrainingResult result = trainer.Train(source);
        // The exported weights are the last epoch's (evaluated then) or, after early stopping, the best epoch's.
        HeldOutEvaluation? exported = trainer.BestWeightsRestored ? heldOut!.Evaluate(trainer.Module) : lastHeldOut;
        var summary = new UFlowTrainingSummary(trainer.CompletedEpochs, step, n, result.Epochs[^1].Loss, 0, 0)
        {
            HeldOut = exported,
            ExportedEpoch = trainer.BestWeightsRestored ? result.BestEpoch : trainer.CompletedEpochs - 1,
            StoppedEarly = result.StoppedEarly,
            Calibration = options.LatentCalibration,
        };
        return new Result(trainer.GetState(), summary);
    }

    private static UFlowTorchTrainer Continue(string path, UFlowTorchTrainingOptions options, UFlowConfig config, HeldOutSplit split, TrainingDataFingerprint? heldOutData)
    {
        UFlowTorchTrainer trainer = UFlowTorchCheckpoint.Load(path, options);
        try
        {
            // The configuration's text names every setting (scales, steps, ratio, clamp, LayerNorm, seed).
            if (trainer.Module.Config.ToString() != config.ToString())
            {
                throw new ArgumentException($"{nameof(UFlowTrainer)}: the checkpoint '{path}' holds the flow {trainer.Module.Config}, but these features and options make {config}; delete it to train anew.");
            }
            RequireSameHeldOut(trainer, path, split, heldOutData);
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

    // A continued run must hold out the images its completed epochs held out (a checkpoint of format 2 held out none).
    private static void RequireSameHeldOut(UFlowTorchTrainer trainer, string path, HeldOutSplit split, TrainingDataFingerprint? heldOutData)
    {
        HeldOutSplit saved = trainer.HeldOut ?? HeldOutSplit.FromHeldOut(split.Count, []);
        if (!saved.SameAs(split))
        {
            throw new ArgumentException(
                $"{nameof(UFlowTrainer)}: the checkpoint '{path}' held out {saved.HeldOut.Length} of {saved.Count} images, but these images and options " +
                $"hold out {split.HeldOut.Length} of {split.Count} (HeldOutFraction and Seed must be those it was made with); delete it to train anew.");
        }
        if (trainer.HeldOutData is { } before && heldOutData is not null)
        {
            try
            {
                before.RequireSame(heldOutData, trainer.CompletedEpochs, nameof(heldOutData));
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"{nameof(UFlowTrainer)}: the held-out images differ from those of the checkpoint '{path}': {e.Message}");
            }
        }
    }

    private sealed class CacheSource(FeatureCache cache) : IFeatureBatchSource
    {
        public int Count => cache.Count;

        public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination) => cache.ReadBatch(sampleIndices, destination);
    }
}
