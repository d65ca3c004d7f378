using Microsoft.ML.Data;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>
/// ML.NET's save/load round trip made strict (STYLE.md §5.11): save with <c>Model.Save</c>, load in a fresh
/// <see cref="MLContext"/> that shares nothing with the one that fitted, and compare every column the model adds,
/// bit for bit, on the same input.
/// </summary>
internal static class ModelRoundTrip
{
    public static ITransformer SaveAndLoad(ITransformer model, DataViewSchema inputSchema, out string path)
    {
        path = Path.Combine(Path.GetTempPath(), $"uflow-roundtrip-{Guid.NewGuid():N}.zip");
        new MLContext(seed: 1).Model.Save(model, inputSchema, path);
        return new MLContext().Model.Load(path, out _);
    }

    /// <summary>Asserts that <paramref name="loaded"/> gives exactly <paramref name="original"/>'s values in <paramref name="columns"/>.</summary>
    public static void AssertSameOutputs(ITransformer original, ITransformer loaded, IDataView input, params string[] columns)
    {
        var a = original.Transform(input);
        var b = loaded.Transform(input);
        foreach (string column in columns)
        {
            var type = a.Schema[column].Type;
            Assert.Equal(type.ToString(), b.Schema[column].Type.ToString());
            if (type is VectorDataViewType { ItemType: BooleanDataViewType })
                Assert.Equal(a.GetColumn<bool[]>(column).ToList(), b.GetColumn<bool[]>(column).ToList());
            else if (type is VectorDataViewType)
                Assert.Equal(a.GetColumn<float[]>(column).ToList(), b.GetColumn<float[]>(column).ToList());
            else if (type is BooleanDataViewType)
                Assert.Equal(a.GetColumn<bool>(column).ToList(), b.GetColumn<bool>(column).ToList());
            else
                Assert.Equal(a.GetColumn<float>(column).ToList(), b.GetColumn<float>(column).ToList());
        }
    }
}
