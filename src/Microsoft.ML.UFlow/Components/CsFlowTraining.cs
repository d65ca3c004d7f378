using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Training;
using TorchSharp;
using HostTensor = Microsoft.ML.UFlow.Tensors.Tensor;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Runs CS-Flow's training on cached features for <see cref="CsFlowTrainer"/> on TorchSharp (<see cref="CsFlowTorchTrainer"/>)
/// and hands back the network's options and state dictionary (the exporter's input).
/// </summary>
internal static class CsFlowTraining
{
    // Samples copied from the cache into the training tensors at a time.
    private const int CopyChunk = 64;

    public sealed record Result(CsFlowNetworkOptions Network, IReadOnlyDictionary<string, StateTensor> State, UFlowTrainingSummary Summary);

    public static Result Train(FeatureCache cache, int channels, CsFlowTrainer.Options options, IProgress<TrainingProgress>? progress)
    {
        int n = cache.Count, batch = Math.Min(options.BatchSize, n);
        int stepsPerEpoch = (n + batch - 1) / batch;
        int totalSteps = stepsPerEpoch * options.Epochs;
        var trainer = new CsFlowTorchTrainer(new CsFlowTrainerOptions
        {
            Epochs = options.Epochs,
            BatchSize = batch,
            LearningRate = options.LearningRate,
            ShuffleSeed = (ulong)(uint)options.Seed,
            Network = new CsFlowNetworkOptions { Channels = channels, HiddenChannels = options.HiddenChannels, Seed = (ulong)(uint)options.Seed },
        }, options.Device);
        TorchTensor[] features = FeatureTensors(cache);
        try
        {
            using CsFlowTorchTrainingState state = options.CheckpointPath is { } saved && File.Exists(saved)
                ? Continue(saved, trainer)
                : trainer.Start(trainer.CreateModule(features));
            // Every epoch has the same number of steps (the last batch may be smaller), so a continued run starts after the saved epochs' steps.
            int step = state.CompletedEpochs * stepsPerEpoch;
            double? epochLoss = null; // each step report carries the mean loss of the last finished epoch
            trainer.Options.StepCompleted = () =>
            {
                step++;
                progress?.Report(new TrainingProgress("train", step, totalSteps, epochLoss));
            };
            trainer.Train(state, features, new EpochSink(report =>
            {
                epochLoss = report.MeanLoss;
                if (options.CheckpointPath is not null) CsFlowTorchCheckpoint.Save(trainer, state, options.CheckpointPath);
                progress?.Report(new TrainingProgress("train", step, totalSteps, epochLoss));
            }));
            var summary = new UFlowTrainingSummary(state.CompletedEpochs, step, n, epochLoss ?? double.NaN, 0, 0);
            return new Result(state.Module.Options.Clone(), CsFlowStateDictionary.From(state.Module), summary);
        }
        finally
        {
            foreach (TorchTensor t in features) t.Dispose();
        }
    }

    private static CsFlowTorchTrainingState Continue(string path, CsFlowTorchTrainer trainer)
    {
        CsFlowTorchTrainingState state = CsFlowTorchCheckpoint.Load(path, trainer);
        if (state.CompletedEpochs >= trainer.Options.Epochs)
        {
            state.Dispose();
            throw new ArgumentException($"{nameof(CsFlowTrainer)}: the checkpoint '{path}' already holds {state.CompletedEpochs} epochs, and Epochs is {trainer.Options.Epochs}: raise Epochs to train further, or delete it to train anew.");
        }
        return state;
    }

    /// <summary>
    /// The cached training set as one float32 CPU tensor N×C×H×W per scale (what <see cref="CsFlowTorchTrainer"/> takes),
    /// filled a chunk of samples at a time. The caller owns the tensors.
    /// </summary>
    private static TorchTensor[] FeatureTensors(FeatureCache cache)
    {
        IReadOnlyList<int[]> shapes = cache.SampleShapes ?? throw new InvalidOperationException("The feature cache is empty.");
        var tensors = new TorchTensor[shapes.Count];
        try
        {
            for (int s = 0; s < tensors.Length; s++)
            {
                tensors[s] = torch.empty(new long[] { cache.Count, shapes[s][0], shapes[s][1], shapes[s][2] }, torch.ScalarType.Float32, torch.CPU).DetachFromDisposeScope();
            }
            HostTensor[] chunk = shapes.Select(_ => new HostTensor(1)).ToArray();
            int[] indices = new int[CopyChunk];
            for (int start = 0; start < cache.Count; start += CopyChunk)
            {
                int count = Math.Min(CopyChunk, cache.Count - start);
                for (int i = 0; i < count; i++) indices[i] = start + i;
                cache.ReadBatch(indices.AsSpan(0, count), chunk);
                using var scope = torch.NewDisposeScope();
                for (int s = 0; s < tensors.Length; s++) tensors[s].narrow(0, start, count).copy_(HostTensorCopy.ToTorch(chunk[s], torch.CPU));
            }
            return tensors;
        }
        catch
        {
            foreach (TorchTensor? t in tensors) t?.Dispose();
            throw;
        }
    }

    private sealed class EpochSink(Action<CsFlowEpochReport> onEpoch) : IProgress<CsFlowEpochReport>
    {
        public void Report(CsFlowEpochReport value) => onEpoch(value);
    }
}
