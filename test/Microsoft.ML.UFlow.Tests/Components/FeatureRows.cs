using Microsoft.ML.Data;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>
/// Synthetic featurizer output: maps of given shapes (U-Flow's default two scales [8, 8, 8] and [16, 4, 4], or CS-Flow's
/// three of one channel count, each half the previous) flattened and concatenated, with their shapes column.
/// </summary>
internal static class FeatureRows
{
    /// <summary>Two U-Flow scales.</summary>
    public static readonly (int Channels, int Height, int Width)[] UFlowScales = [(8, 8, 8), (16, 4, 4)];

    /// <summary>Three CS-Flow scales of four channels: 8, 4 and 2 pixels wide.</summary>
    public static readonly (int Channels, int Height, int Width)[] CsFlowScales = [(4, 8, 8), (4, 4, 4), (4, 2, 2)];

    public sealed class Row
    {
        [ColumnName("Label")]
        public float Label { get; set; }

        [ColumnName("Features")]
        public float[] Features { get; set; } = [];

        [ColumnName("Features.Shapes")]
        public float[] Shapes { get; set; } = [];
    }

    /// <summary>U-Flow features (<see cref="UFlowScales"/>).</summary>
    public static IDataView Load(MLContext ml, int rows, int seed, bool withAnomalies = false) => Load(ml, rows, seed, UFlowScales, withAnomalies);

    /// <summary>
    /// Gaussian features with a per-row offset; rows with <c>anomalous</c> get a bright blob in the first scale;
    /// <paramref name="edit"/> may change a row's values (row index, values) before it is stored; with
    /// <paramref name="only"/>, only those rows are kept (the same values as in the whole set).
    /// </summary>
    public static IDataView Load(MLContext ml, int rows, int seed, (int Channels, int Height, int Width)[] scales, bool withAnomalies = false,
        Action<int, float[]>? edit = null, IReadOnlyCollection<int>? only = null)
    {
        int length = scales.Sum(s => s.Channels * s.Height * s.Width);
        var (channels, height, width) = scales[0];
        var random = new Random(seed);
        var list = new List<Row>();
        for (int r = 0; r < rows; r++)
        {
            var values = new float[length];
            for (int i = 0; i < values.Length; i++)
            {
                double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
                values[i] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2)) + 0.05f * r;
            }
            bool anomalous = withAnomalies && r % 2 == 1;
            if (anomalous)
            {
                for (int c = 0; c < channels; c++) for (int y = 2; y < 5; y++) for (int x = 2; x < 5; x++) values[(c * height + y) * width + x] += 6f;
            }
            edit?.Invoke(r, values);
            if (only is not null && !only.Contains(r)) continue;
            list.Add(new Row { Label = anomalous ? 1f : 0f, Features = values, Shapes = scales.SelectMany(s => new float[] { s.Channels, s.Height, s.Width }).ToArray() });
        }
        // Fixed-size vectors, as ApplyOnnxFeaturizer gives them.
        var schema = SchemaDefinition.Create(typeof(Row));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, length);
        schema["Features.Shapes"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3 * scales.Length);
        return ml.Data.LoadFromEnumerable(list, schema);
    }
}
