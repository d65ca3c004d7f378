using System.Runtime.InteropServices;
using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Api;

/// <summary>
/// The save/load round-trip test helper every API component goes through (as ML.NET's <c>TestEstimatorCore</c>):
/// invalid inputs fail at schema time and at <c>Fit</c>; fit → save → load gives the same output schema and
/// bit-identical outputs on the same input; saving the loaded model again gives the same outputs once more.
/// </summary>
public static class RoundTrip
{
    /// <summary>Runs the checks on an estimator and returns the reloaded transformer.</summary>
    /// <param name="estimator">The component under test.</param>
    /// <param name="trainData">Data to fit on (its schema is saved as the model's input schema).</param>
    /// <param name="testData">Data to compare outputs on (defaults to <paramref name="trainData"/>).</param>
    /// <param name="invalidInputs">Views whose schema the component must reject with a <see cref="SchemaMismatchException"/>.</param>
    public static ITransformer CheckEstimator<T>(IEstimator<T> estimator, IDataView trainData, IDataView? testData = null, params IDataView[] invalidInputs)
        where T : class, ITransformer
    {
        foreach (var bad in invalidInputs)
        {
            Assert.Throws<SchemaMismatchException>(() => estimator.GetOutputSchema(bad.Schema));
            Assert.Throws<SchemaMismatchException>(() => estimator.Fit(bad));
        }
        var expectedSchema = estimator.GetOutputSchema(trainData.Schema);
        var model = estimator.Fit(trainData);
        Assert.Equal(expectedSchema, model.GetOutputSchema(trainData.Schema));
        return CheckTransformer(model, trainData, testData, invalidInputs);
    }

    /// <summary>Runs the save/load checks on a fitted transformer and returns the reloaded one.</summary>
    public static ITransformer CheckTransformer(ITransformer model, IDataView inputData, IDataView? testData = null, params IDataView[] invalidInputs)
    {
        testData ??= inputData;
        var ctx = new UFlowContext();
        foreach (var bad in invalidInputs)
        {
            Assert.Throws<SchemaMismatchException>(() => model.GetOutputSchema(bad.Schema));
            Assert.Throws<SchemaMismatchException>(() => model.Transform(bad));
        }
        string dir = Path.Combine(Path.GetTempPath(), "uflow-roundtrip-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "model.zip");
            ctx.Model.Save(model, inputData.Schema, path);
            Assert.Equal([path], Directory.GetFiles(dir)); // no temporary file left behind
            var loaded = ctx.Model.Load(path, out var loadedSchema);
            Assert.Equal(inputData.Schema, loadedSchema);
            Assert.Equal(model.GetOutputSchema(testData.Schema), loaded.GetOutputSchema(testData.Schema));
            var expected = model.Transform(testData);
            AssertViewsBitIdentical(expected, loaded.Transform(testData));
            foreach (var bad in invalidInputs)
            {
                Assert.Throws<SchemaMismatchException>(() => loaded.Transform(bad));
            }
            string again = Path.Combine(dir, "again.zip");
            ctx.Model.Save(loaded, loadedSchema, again);
            AssertViewsBitIdentical(expected, ctx.Model.Load(again, out _).Transform(testData));
            return loaded;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Asserts two views have equal schemas and bit-identical values in every column of every row.</summary>
    public static void AssertViewsBitIdentical(IDataView expected, IDataView actual)
    {
        Assert.Equal(expected.Schema, actual.Schema);
        var a = expected.GetRows().ToList();
        var b = actual.GetRows().ToList();
        Assert.Equal(a.Count, b.Count);
        for (int r = 0; r < a.Count; r++)
        {
            for (int c = 0; c < expected.Schema.Count; c++)
            {
                AssertValueBitIdentical(a[r][c], b[r][c], $"row {r}, column '{expected.Schema[c].Name}'");
            }
        }
    }

    /// <summary>Bitwise equality of column values (floats compared by bit pattern, so NaN == NaN and 0 != -0).</summary>
    public static void AssertValueBitIdentical(object? expected, object? actual, string where)
    {
        switch (expected)
        {
            case null:
                Assert.True(actual is null, $"{where}: expected null, got {actual}");
                break;
            case float f:
                Assert.True(actual is float g && BitConverter.SingleToInt32Bits(f) == BitConverter.SingleToInt32Bits(g), $"{where}: {f} vs {actual}");
                break;
            case Tensor t:
                var u = Assert.IsType<Tensor>(actual);
                Assert.True(t.Shape.SequenceEqual(u.Shape), $"{where}: shape {t} vs {u}");
                Assert.True(MemoryMarshal.AsBytes(t.Span).SequenceEqual(MemoryMarshal.AsBytes(u.Span)), $"{where}: tensor values differ");
                break;
            case Tensor[] maps:
                var other = Assert.IsType<Tensor[]>(actual);
                Assert.Equal(maps.Length, other.Length);
                for (int i = 0; i < maps.Length; i++) AssertValueBitIdentical(maps[i], other[i], $"{where}[{i}]");
                break;
            case float[] fa:
                var fb = Assert.IsType<float[]>(actual);
                Assert.True(MemoryMarshal.AsBytes(fa.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(fb.AsSpan())), $"{where}: float arrays differ");
                break;
            case bool[] ba:
                Assert.True(ba.AsSpan().SequenceEqual(Assert.IsType<bool[]>(actual)), $"{where}: masks differ");
                break;
            default:
                if (BitComparers.TryCompare(expected, actual, out bool equal)) Assert.True(equal, $"{where}: values differ");
                else Assert.Equal(expected, actual);
                break;
        }
    }
}

/// <summary>Bitwise comparers for value types of other layers (images), registered by their tests' helpers.</summary>
public static class BitComparers
{
    private static readonly List<Func<object, object?, bool?>> s_comparers = [];

    /// <summary>Adds a comparer returning null when it does not handle the value.</summary>
    public static void Add(Func<object, object?, bool?> comparer)
    {
        lock (s_comparers) s_comparers.Add(comparer);
    }

    internal static bool TryCompare(object expected, object? actual, out bool equal)
    {
        lock (s_comparers)
        {
            foreach (var c in s_comparers)
            {
                bool? r = c(expected, actual);
                if (r is not null) { equal = r.Value; return true; }
            }
        }
        equal = false;
        return false;
    }
}
