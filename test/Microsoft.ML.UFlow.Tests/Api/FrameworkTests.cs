using System.IO.Compression;
using System.Text;
using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Api;

public sealed class FrameworkTests
{
    static FrameworkTests() => CenterTensorTransformer.EnsureRegistered();

    private static readonly DataSchema s_schema = new([new SchemaColumn("Name", ColumnType.Text), new SchemaColumn("X", ColumnType.Tensor(2, -1))]);

    private static IDataView Data(params float[][] rows)
        => new InMemoryDataView(s_schema, rows.Select((r, i) => new object?[] { $"r{i}", new Tensor(r, 2, r.Length / 2) }));

    private static IDataView WrongType()
        => new InMemoryDataView(new DataSchema([new SchemaColumn("X", ColumnType.Text)]), [["not a tensor"]]);

    [Fact]
    public void ImagePathViewsCarryDefectTypes()
    {
        var data = new UFlowContext().Data;
        var defaults = data.LoadFromImagePaths(["a.png", "b.png"], [false, true]);
        Assert.Equal(DataCatalog.StandardSchema.ToString(), defaults.Schema.ToString());
        Assert.Equal([DataCatalog.NormalDefectType, DataCatalog.AnomalousDefectType], defaults.GetRows().Select(r => r.Get<string>(DataCatalog.DefectTypeColumn)));
        var named = data.LoadFromImagePaths(["a.png", "b.png"], [false, true], null, ["good", "crack"]);
        Assert.Equal(["good", "crack"], named.GetRows().Select(r => r.Get<string>(DataCatalog.DefectTypeColumn)));
        var e = Assert.Throws<ArgumentException>(() => data.LoadFromImagePaths(["a.png", "b.png"], [false, true], null, ["good"]));
        Assert.Contains("defectTypes", e.Message);
    }

    [Fact]
    public void SchemaErrorNamesColumnExpectedAndActualTypes()
    {
        var est = new CenterTensorEstimator("Y", "X");
        var e = Assert.Throws<SchemaMismatchException>(() => est.Fit(WrongType()));
        Assert.Equal("X", e.ColumnName);
        Assert.Contains("'X'", e.Message);
        Assert.Contains("Text", e.Message);
        Assert.Contains("Tensor[?,?]", e.Message);
        var missing = Assert.Throws<SchemaMismatchException>(() => est.GetOutputSchema(new DataSchema([new SchemaColumn("Z", ColumnType.Single)])));
        Assert.Null(missing.ActualType);
        Assert.Contains("not found", missing.Message);
        Assert.Contains("Z (Single)", missing.Message);
    }

    [Fact]
    public void TensorTypeChecksRankAndFixedDimensions()
    {
        Assert.True(ColumnType.Tensor(3, -1, -1).Accepts(ColumnType.Tensor(3, 256, 256)));
        Assert.False(ColumnType.Tensor(3, -1, -1).Accepts(ColumnType.Tensor(1, 256, 256)));
        Assert.False(ColumnType.Tensor(3, -1, -1).Accepts(ColumnType.Tensor(3, 256)));
        Assert.Equal(ColumnType.Tensor(3, -1, 8), ColumnType.Parse(ColumnType.Tensor(3, -1, 8).ToString()));
        Assert.Equal(ColumnType.FeatureMaps(3), ColumnType.Parse("FeatureMaps[3]"));
        Assert.Throws<FormatException>(() => ColumnType.Parse("Nope"));
    }

    [Fact]
    public void InMemoryViewRejectsValuesOfTheWrongType()
    {
        var e = Assert.Throws<ArgumentException>(() => new InMemoryDataView(s_schema, [["a", new Tensor(3, 2)]]));
        Assert.Contains("column 'X'", e.Message);
    }

    [Fact]
    public void TransformIsLazyAndChainsFitOnTransformedData()
    {
        int reads = 0;
        var source = new CountingView(Data([1, 2, 3, 4], [5, 6, 7, 8]), () => reads++);
        var chain = new CenterTensorEstimator("Y", "X").Append(new CenterTensorEstimator("Z", "Y"));
        var model = chain.Fit(source);
        int readsAfterFit = reads;
        var view = model.Transform(source);
        Assert.Equal(readsAfterFit, reads); // nothing computed yet
        var rows = view.GetRows().ToList();
        Assert.True(reads > readsAfterFit);
        Assert.Equal(4.5f, model.First().As<CenterTensorTransformer>().Mean);
        Assert.Equal(0f, model.LastTransformer!.Mean);
        Assert.Equal(-3.5f, rows[0].Get<Tensor>("Z").Span[0]);
        Assert.Equal(new[] { "Name", "X", "Y", "Z" }, view.Schema.Select(c => c.Name));
    }

    [Fact]
    public void RoundTripOfAChainIsBitIdentical()
    {
        var chain = new CenterTensorEstimator("Y", "X").Append(new CenterTensorEstimator("X", "Y"));
        var loaded = RoundTrip.CheckEstimator(chain, Data([1, 2, 3, 4.25f]), Data([0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f]), WrongType());
        Assert.IsType<TransformerChain<ITransformer>>(loaded);
    }

    [Fact]
    public void NewerComponentVersionFailsClearly()
    {
        string path = SaveModel();
        Rewrite(path, "model/header.json", s => s.Replace("\"MinReadableVersion\": 1", "\"MinReadableVersion\": 7"));
        var e = Assert.Throws<ModelFormatException>(() => new UFlowContext().Model.Load(path, out _));
        Assert.Contains("newer version", e.Message);
        Assert.Contains(path, e.Message);
        File.Delete(path);
    }

    [Fact]
    public void NewerFileFormatFailsClearly()
    {
        string path = SaveModel();
        Rewrite(path, "model.json", s => s.Replace("\"MinReadableVersion\": 1", "\"MinReadableVersion\": 2"));
        var e = Assert.Throws<ModelFormatException>(() => new UFlowContext().Model.Load(path, out _));
        Assert.Contains("newer version", e.Message);
        File.Delete(path);
    }

    [Fact]
    public void NotAModelFailsClearly()
    {
        string path = Path.GetTempFileName();
        File.WriteAllText(path, "hello");
        Assert.Throws<ModelFormatException>(() => new UFlowContext().Model.Load(path, out _));
        File.Delete(path);
        Assert.Throws<FileNotFoundException>(() => new UFlowContext().Model.Load(path, out _));
    }

    [Fact]
    public void FailedSaveLeavesTheExistingFileUntouched()
    {
        string path = SaveModel();
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<InvalidOperationException>(() => new UFlowContext().Model.Save(new ThrowingTransformer(), s_schema, path));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + "*"));
        File.Delete(path);
    }

    [Fact]
    public void PredictionEngineRunsOneRow()
    {
        var ctx = new UFlowContext();
        var model = new CenterTensorEstimator("Y", "X").Fit(Data([1, 2, 3, 4]));
        var engine = ctx.Model.CreatePredictionEngine(model, s_schema);
        var row = engine.Predict("one", new Tensor([10f, 10f], 2, 1));
        Assert.Equal(7.5f, row.Get<Tensor>("Y").Span[0]);
        Assert.Throws<ArgumentException>(() => engine.Predict("one", "two"));
    }

    private static string SaveModel()
    {
        string path = Path.Combine(Path.GetTempPath(), $"uflow-test-{Guid.NewGuid():N}.zip");
        var model = new CenterTensorEstimator("Y", "X").Fit(Data([1, 2, 3, 4]));
        new UFlowContext().Model.Save(model, s_schema, path);
        return path;
    }

    private static void Rewrite(string zipPath, string entryName, Func<string, string> edit)
    {
        using var zip = ZipFile.Open(zipPath, ZipArchiveMode.Update);
        var entry = zip.GetEntry(entryName)!;
        string text;
        using (var r = new StreamReader(entry.Open())) text = r.ReadToEnd();
        string edited = edit(text);
        Assert.NotEqual(text, edited);
        entry.Delete();
        using var w = zip.CreateEntry(entryName).Open();
        w.Write(Encoding.UTF8.GetBytes(edited));
    }

    private sealed class CountingView(IDataView inner, Action onRow) : IDataView
    {
        public DataSchema Schema => inner.Schema;
        public long? GetRowCount() => inner.GetRowCount();
        public IEnumerable<DataRow> GetRows()
        {
            foreach (var r in inner.GetRows()) { onRow(); yield return r; }
        }
    }

    private sealed class ThrowingTransformer : ITransformer
    {
        public DataSchema GetOutputSchema(DataSchema inputSchema) => inputSchema;
        public IDataView Transform(IDataView input) => input;
        public void Save(ModelSaveContext context) => throw new InvalidOperationException("boom");
    }
}

internal static class TransformerCast
{
    public static T As<T>(this ITransformer t) => (T)t;
}
