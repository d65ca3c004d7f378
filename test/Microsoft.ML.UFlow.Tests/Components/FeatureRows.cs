using Microsoft.ML.Data;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>Synthetic featurizer output: two scales [8, 8, 8] and [16, 4, 4] flattened and concatenated, with shapes.</summary>
internal static class FeatureRows
{
    public const int Length = 8 * 8 * 8 + 16 * 4 * 4;

    public sealed class Row
    {
        [ColumnName("Label")]
        public float Label { get; set; }

        [ColumnName("Features"), VectorType(Length)]
        public float[] Features { get; set; } = [];

        [ColumnName("Features.Shapes"), VectorType(6)]
        public float[] Shapes { get; set; } = [];
    }

    /// <summary>Gaussian features with a per-row offset; rows with <c>anomalous</c> get a bright blob in the first scale.</summary>
    public static IDataView Load(MLContext ml, int rows, int seed, bool withAnomalies = false)
    {
        var random = new Random(seed);
        var list = new List<Row>();
        for (int r = 0; r < rows; r++)
        {
            var values = new float[Length];
            for (int i = 0; i < values.Length; i++)
            {
                double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
                values[i] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2)) + 0.05f * r;
            }
            bool anomalous = withAnomalies && r % 2 == 1;
            if (anomalous)
            {
                for (int c = 0; c < 8; c++) for (int y = 2; y < 5; y++) for (int x = 2; x < 5; x++) values[(c * 8 + y) * 8 + x] += 6f;
            }
            list.Add(new Row { Label = anomalous ? 1f : 0f, Features = values, Shapes = [8, 8, 8, 16, 4, 4] });
        }
        return ml.Data.LoadFromEnumerable(list);
    }
}
