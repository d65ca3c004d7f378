using System.IO.Compression;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>Loading model files: a file cut short, a version-1 model, a missing file, a model of another library.</summary>
public sealed class ModelFileTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "uflow-modelfile-" + Guid.NewGuid().ToString("N"));

    public ModelFileTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string SaveSmallModel(MLContext ml)
    {
        IDataView train = FeatureRows.Load(ml, rows: 4, seed: 1);
        var model = ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1, BatchSize = 4, OutputSize = 16, HeldOutFraction = 0 }).Fit(train);
        string path = Path.Combine(_folder, "model.zip");
        ml.Model.Save(model, train.Schema, path);
        return path;
    }

    [Fact]
    public void A_model_cut_in_half_is_named_and_not_loaded()
    {
        var ml = new MLContext(seed: 0);
        string path = SaveSmallModel(ml);
        byte[] bytes = File.ReadAllBytes(path);
        string cut = Path.Combine(_folder, "cut.zip");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => UFlowModelFile.Load(ml, cut, out _));
        Assert.Contains("cut.zip", e.Message);
        Assert.Contains("not a complete zip", e.Message);
        Assert.Throws<InvalidDataException>(() => UFlowModelInfo.Read(cut));
        // The whole file loads, and the facts are read from it.
        Assert.NotNull(UFlowModelFile.Load(ml, path, out _));
        Assert.Equal("uflow", UFlowModelInfo.Read(path).Method);
    }

    [Fact]
    public void A_version_1_model_is_refused_with_the_remedy()
    {
        string path = Path.Combine(_folder, "v1.zip");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using var writer = new StreamWriter(zip.CreateEntry("model.json").Open());
            writer.Write("{\"Format\":\"Microsoft.ML.UFlow model\",\"Version\":1}");
        }
        var e = Assert.Throws<InvalidDataException>(() => UFlowModelFile.Load(new MLContext(), path, out _));
        Assert.Contains("version-1", e.Message);
        Assert.Contains("Retrain", e.Message);
        Assert.Contains("version-1", Assert.Throws<InvalidDataException>(() => UFlowModelInfo.Read(path)).Message);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        string path = Path.Combine(_folder, "absent.zip");
        var e = Assert.Throws<FileNotFoundException>(() => UFlowModelFile.Load(new MLContext(), path, out _));
        Assert.Contains("absent.zip", e.Message);
    }

    [Fact]
    public void A_stock_model_without_a_flow_has_no_facts()
    {
        var ml = new MLContext();
        var data = FeatureRows.Load(ml, rows: 2, seed: 1);
        var model = ml.Transforms.CopyColumns("Copy", "Label").Fit(data);
        string path = Path.Combine(_folder, "plain.zip");
        ml.Model.Save(model, data.Schema, path);
        var e = Assert.Throws<InvalidDataException>(() => UFlowModelInfo.Read(path));
        Assert.Contains("no U-Flow or CS-Flow graph", e.Message);
    }

    [Fact]
    public void An_empty_data_folder_is_refused_with_its_path()
    {
        string empty = Path.Combine(_folder, "empty");
        Directory.CreateDirectory(empty);
        var e = Assert.ThrowsAny<Exception>(() => new MLContext().Data.LoadAnomalyImages(empty, AnomalyImageSplit.Train));
        Assert.True(e is ArgumentException or IOException or InvalidDataException, e.GetType().Name);
        Assert.Contains(empty, e.Message);
    }
}
