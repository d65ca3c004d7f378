using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Api;

/// <summary>Tiny synthetic inputs for the API tests: PNG files in a temp folder, random feature maps, bad schemas.</summary>
internal sealed class ApiTestData : IDisposable
{
    public ApiTestData()
    {
        Folder = Path.Combine(Path.GetTempPath(), "uflow-api-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        var random = new SeededRandom(7);
        ImagePaths = new string[4];
        for (int i = 0; i < ImagePaths.Length; i++)
        {
            int channels = i == 3 ? 1 : 3; // one grey image: LoadImages must turn it into RGB
            var image = new Image(40 + 4 * i, 36, channels);
            for (int p = 0; p < image.Pixels.Length; p++) image.Pixels[p] = (byte)random.NextInt(256);
            ImagePaths[i] = Path.Combine(Folder, $"img{i}.png");
            PngEncoder.Save(image, ImagePaths[i]);
        }
        var mask = new Image(40, 36, 1);
        for (int y = 10; y < 20; y++) for (int x = 5; x < 25; x++) mask.Pixels[y * 40 + x] = 255;
        MaskPath = Path.Combine(Folder, "img0_mask.png");
        PngEncoder.Save(mask, MaskPath);
    }

    public string Folder { get; }

    public string[] ImagePaths { get; }

    public string MaskPath { get; }

    public IDataView Images(UFlowContext ctx) => ctx.Data.LoadFromImagePaths(ImagePaths, [false, true, false, true], [MaskPath, "", "", ""]);

    /// <summary>A view whose <paramref name="column"/> holds floats, which no image/feature component accepts.</summary>
    public static IDataView WrongType(string column) => new InMemoryDataView(new DataSchema([new SchemaColumn(column, ColumnType.Single)]), [[1f]]);

    /// <summary>Random two-scale features [8,8,8] and [16,4,4] with a per-row offset, as a Features column.</summary>
    public static IDataView Features(int rows, ulong seed)
    {
        var random = new SeededRandom(seed);
        var schema = new DataSchema([new SchemaColumn(DataCatalog.LabelColumn, ColumnType.Boolean), new SchemaColumn(UFlowColumns.Features, ColumnType.FeatureMaps(2))]);
        var data = new List<object?[]>();
        for (int r = 0; r < rows; r++)
        {
            var a = new Tensor(8, 8, 8);
            var b = new Tensor(16, 4, 4);
            foreach (var t in new[] { a, b })
            {
                var s = t.Span;
                for (int i = 0; i < s.Length; i++) s[i] = (float)random.NextGaussian() + 0.1f * r;
            }
            data.Add([r % 2 == 1, new[] { a, b }]);
        }
        return new InMemoryDataView(schema, data);
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
