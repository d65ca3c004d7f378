using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Api;

/// <summary>The progress the CS-Flow trainer reports (the CLI's bars and ETA read it): one report per real step, epoch losses.</summary>
public sealed class CsFlowTrainerProgressTests
{
    [Fact]
    public void ReportsEveryStepOnceAndTheEpochLoss()
    {
        var random = new Microsoft.ML.UFlow.Nn.SeededRandom(5);
        var schema = new DataSchema([new SchemaColumn(UFlowColumns.Features, ColumnType.FeatureMaps(3))]);
        var rows = Enumerable.Range(0, 5).Select(_ => new object?[]
        {
            new[] { 8, 4, 2 }.Select(side =>
            {
                var t = new Tensor(4, side, side);
                var span = t.Span;
                for (int i = 0; i < span.Length; i++) span[i] = (float)random.NextGaussian();
                return t;
            }).ToArray(),
        }).ToList();
        var reports = new List<TrainingProgress>();
        var trainer = new UFlowContext(1).AnomalyDetection.Trainers.CsFlow(new CsFlowTrainer.Options
        {
            Epochs = 2,
            BatchSize = 2,
            HiddenChannels = 4,
            OutputSize = 8,
            Progress = new Collect(reports),
        });
        trainer.Fit(new InMemoryDataView(schema, rows));

        Assert.Equal([1, 2, 3, 4, 5], reports.Where(r => r.Phase == "featurize").Select(r => r.Done));
        var train = reports.Where(r => r.Phase == "train").ToList();
        Assert.All(train, r => Assert.Equal(6, r.Total)); // 3 batches (2, 2, 1) × 2 epochs
        // Steps 1..6 once each, plus one report at the end of each epoch (after steps 3 and 6).
        Assert.Equal([1, 2, 3, 3, 4, 5, 6, 6], train.Select(r => r.Done));
        Assert.Equal([null, null, null], train.Take(3).Select(r => r.Loss));
        double first = train[3].Loss!.Value, last = train[^1].Loss!.Value;
        Assert.True(double.IsFinite(first) && double.IsFinite(last));
        Assert.Equal(first, train[4].Loss); // steps of epoch 2 carry epoch 1's mean loss
        Assert.NotEqual(first, last);
    }

    private sealed class Collect(List<TrainingProgress> into) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => into.Add(value);
    }
}
