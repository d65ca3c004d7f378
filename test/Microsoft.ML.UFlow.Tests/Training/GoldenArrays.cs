using System.Text;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>Reads the little-endian named-array container written by <c>test/golden/flow_torch.py::write_arrays</c>.</summary>
internal sealed class GoldenArrays
{
    private readonly Dictionary<string, (int[] Shape, float[] Data)> _arrays = new();

    public GoldenArrays(string path)
    {
        using var r = new BinaryReader(File.OpenRead(path));
        if (Encoding.ASCII.GetString(r.ReadBytes(8)) != "UFGOLD01") throw new InvalidDataException($"{path} is not a golden array file.");
        int count = r.ReadInt32();
        for (int i = 0; i < count; i++)
        {
            string name = Encoding.UTF8.GetString(r.ReadBytes(r.ReadInt32()));
            int rank = r.ReadInt32();
            int[] shape = Enumerable.Range(0, rank).Select(_ => r.ReadInt32()).ToArray();
            var data = new float[shape.Aggregate(1, (a, b) => a * b)];
            for (int j = 0; j < data.Length; j++) data[j] = r.ReadSingle();
            _arrays[name] = (shape, data);
        }
    }

    public static string FixturePath(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Flow", file);

    public bool Has(string name) => _arrays.ContainsKey(name);

    public float[] Data(string name) => _arrays.TryGetValue(name, out var a) ? a.Data : throw new KeyNotFoundException($"Golden array '{name}' is missing.");

    public int[] Shape(string name) => _arrays[name].Shape;

    public Tensor Tensor(string name) => new((float[])Data(name).Clone(), Shape(name));
}
