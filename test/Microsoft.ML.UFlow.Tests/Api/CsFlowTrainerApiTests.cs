using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;
using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Api;

/// <summary>The API CS-Flow trainer's input checks and feature-cache budget.</summary>
public sealed class CsFlowTrainerApiTests
{
    private readonly UFlowContext _ctx = new(seed: 3);
    private static readonly DataSchema Schema = new([new SchemaColumn(UFlowColumns.Features, ColumnType.FeatureMaps(3))]);

    private static Tensor[] Maps(SeededRandom random, int channels = 6, int side = 8) =>
        new[] { side, side / 2, side / 4 }.Select(s =>
        {
            var t = new Tensor(channels, s, s);
            Span<float> span = t.Span;
            for (int i = 0; i < span.Length; i++) span[i] = (float)random.NextGaussian();
            return t;
        }).ToArray();

    private static IDataView Data(params Tensor[][] rows) => new InMemoryDataView(Schema, rows.Select(r => new object?[] { r }).ToList());

    private CsFlowTrainer Trainer(long budget = 4L << 30) =>
        _ctx.AnomalyDetection.Trainers.CsFlow(new CsFlowTrainer.Options { Epochs = 1, BatchSize = 2, HiddenChannels = 8, OutputSize = 8, FeatureCacheBudgetBytes = budget });

    [Fact]
    public void TrainingContinuesFromItsCheckpoint()
    {
        // 3 epochs at once, against 2 epochs and then the same options with 3 epochs and the same checkpoint file.
        var random = new SeededRandom(6);
        IDataView train = Data(Maps(random), Maps(random), Maps(random), Maps(random), Maps(random));
        IDataView test = Data(Maps(random), Maps(random));
        string dir = Directory.CreateTempSubdirectory("uflow-api-csflow-checkpoint-").FullName;
        try
        {
            float[] Fit(int epochs, string? checkpoint, double lr = 2e-3)
            {
                var options = new CsFlowTrainer.Options { Epochs = epochs, BatchSize = 2, HiddenChannels = 8, OutputSize = 8, LearningRate = lr, CheckpointPath = checkpoint };
                var model = _ctx.AnomalyDetection.Trainers.CsFlow(options).Fit(train);
                return model.Transform(test).GetRows().Select(r => r.Get<float>(UFlowColumns.Score)).ToArray();
            }
            float[] straight = Fit(3, null);
            string checkpoint = Path.Combine(dir, "cs.ckpt");
            float[] first = Fit(2, checkpoint);
            float[] continued = Fit(3, checkpoint);
            Assert.NotEqual(straight, first);
            Assert.Equal(straight, continued); // bit-identical
            Assert.Contains("already holds 3 epochs", Assert.Throws<ArgumentException>(() => Fit(3, checkpoint)).Message);
            Assert.Contains("learning rate", Assert.Throws<ArgumentException>(() => Fit(4, checkpoint, lr: 1e-3)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ARowOfAnotherShapeIsNamed()
    {
        var random = new SeededRandom(4);
        Tensor[] odd = Maps(random);
        odd[1] = new Tensor(6, 5, 4);
        var e = Assert.Throws<ArgumentException>(() => Trainer().Fit(Data(Maps(random), Maps(random), odd, Maps(random))));
        Assert.Contains($"column '{UFlowColumns.Features}', row 2, map 1", e.Message);
        Assert.Contains("[6, 5, 4]", e.Message);
        Assert.Contains("[6, 4, 4]", e.Message);
    }

    [Fact]
    public void ARowZeroThatCannotBeCsFlowInputIsNamed()
    {
        var random = new SeededRandom(5);
        Tensor[] bad = Maps(random);
        bad[2] = new Tensor(5, 2, 2); // another channel count
        var e = Assert.Throws<ArgumentException>(() => Trainer().Fit(Data(bad, Maps(random))));
        Assert.Contains($"{UFlowColumns.Features} (row 0)", e.Message);
    }

    [Fact]
    public void FeatureCacheBudgetSpillsWithoutChangingTheModel()
    {
        var random = new SeededRandom(6);
        Tensor[][] rows = [Maps(random), Maps(random), Maps(random), Maps(random)];
        float inMemory = Trainer().Fit(Data(rows)).Threshold;
        float onDisk = Trainer(budget: 0).Fit(Data(rows)).Threshold;
        Assert.True(float.IsFinite(inMemory));
        Assert.Equal(inMemory, onDisk);
        Assert.Throws<ArgumentOutOfRangeException>(() => Trainer(budget: -1));
    }

    [Fact]
    public void ADamagedWeightsEntryRaisesModelFormatExceptionNamingIt()
    {
        var random = new SeededRandom(7);
        var model = Trainer().Fit(Data(Maps(random), Maps(random), Maps(random)));
        string dir = Directory.CreateTempSubdirectory("uflow-csflow-zip-").FullName;
        try
        {
            string path = Path.Combine(dir, "model.zip");
            _ctx.Model.Save(model, Schema, path);
            using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
            {
                ZipArchiveEntry entry = zip.Entries.Single(e => e.FullName.EndsWith("csflow.bin", StringComparison.Ordinal));
                byte[] bytes;
                using (var s = entry.Open())
                using (var m = new MemoryStream())
                {
                    s.CopyTo(m);
                    bytes = m.ToArray();
                }
                // Channels (after the signature string and two version integers) set to int.MaxValue.
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(1 + "UFLOW.CSFLOW".Length + 8), int.MaxValue);
                string name = entry.FullName;
                entry.Delete();
                using var w = zip.CreateEntry(name).Open();
                w.Write(bytes);
            }
            var e = Assert.Throws<ModelFormatException>(() => _ctx.Model.Load(path, out _));
            Assert.Contains(path, e.Message);
            Assert.Contains("csflow.bin", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
