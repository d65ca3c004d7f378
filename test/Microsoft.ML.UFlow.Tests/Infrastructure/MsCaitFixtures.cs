using System.Text.Json;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Infrastructure;

/// <summary>Fixtures written by test/golden/ort_mscait.py (PyTorch 1.13).</summary>
internal static class MsCaitFixtures
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Ort");

    public static string File(string name) => Path.Combine(Folder, name);

    /// <summary>The script's input pattern: x[b, c, i, j] = 2 sin(0.05 (c + 1) i + 0.3 b) cos(0.07 j + 0.11 c), in double, stored as float.</summary>
    public static Tensor Pattern(int batch, int size)
    {
        var t = new Tensor(batch, 3, size, size);
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < size; i++)
                    for (int j = 0; j < size; j++)
                        t[b, c, i, j] = (float)(2.0 * Math.Sin(0.05 * (c + 1) * i + 0.3 * b) * Math.Cos(0.07 * j + 0.11 * c));
        return t;
    }

    public static JsonDocument Json(string name) => JsonDocument.Parse(System.IO.File.ReadAllText(File(name)));

    public static float[] Floats(JsonElement array) => array.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();

    public static int[] Ints(JsonElement array) => array.EnumerateArray().Select(v => v.GetInt32()).ToArray();

    public static float[] RawFloats(string name)
    {
        byte[] bytes = System.IO.File.ReadAllBytes(File(name));
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, values.Length * 4);
        return values;
    }
}
