using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Onnx;

/// <summary>One output of an ONNX Runtime run: its shape and its float or bool values.</summary>
internal sealed record GraphOutput(long[] Shape, float[]? Floats, bool[]? Bools);

/// <summary>Runs an exported graph with Microsoft.ML.OnnxRuntime's <see cref="InferenceSession"/> (CPU, default options).</summary>
internal sealed class OnnxGraphRunner : IDisposable
{
    private readonly InferenceSession _session;

    public OnnxGraphRunner(byte[] model) => _session = new InferenceSession(model);

    public IReadOnlyList<string> InputNames => _session.InputNames;

    public IReadOnlyList<string> OutputNames => _session.OutputNames;

    public IReadOnlyDictionary<string, string> Metadata => _session.ModelMetadata.CustomMetadataMap;

    /// <summary>The graph's declared shape of input or output <paramref name="name"/> (−1 for the symbolic batch).</summary>
    public int[] DeclaredShape(string name)
        => (_session.InputMetadata.TryGetValue(name, out NodeMetadata? m) ? m : _session.OutputMetadata[name]).Dimensions;

    /// <summary>Runs the graph on the given float inputs and returns every output.</summary>
    public Dictionary<string, GraphOutput> Run(IReadOnlyDictionary<string, (float[] Values, long[] Shape)> inputs)
    {
        var names = inputs.Keys.ToArray();
        var values = new List<OrtValue>();
        try
        {
            foreach (string name in names) values.Add(OrtValue.CreateTensorValueFromMemory(inputs[name].Values, inputs[name].Shape));
            using var runOptions = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> results = _session.Run(runOptions, names, values, _session.OutputNames);
            var outputs = new Dictionary<string, GraphOutput>(StringComparer.Ordinal);
            for (int i = 0; i < results.Count; i++)
            {
                OrtTensorTypeAndShapeInfo info = results[i].GetTensorTypeAndShape();
                outputs[_session.OutputNames[i]] = info.ElementDataType == TensorElementType.Bool
                    ? new GraphOutput(info.Shape, null, results[i].GetTensorDataAsSpan<bool>().ToArray())
                    : new GraphOutput(info.Shape, results[i].GetTensorDataAsSpan<float>().ToArray(), null);
            }
            return outputs;
        }
        finally
        {
            foreach (OrtValue v in values) v.Dispose();
        }
    }

    /// <summary>The per-scale NCHW batches flattened per sample and concatenated finest first: [N, total].</summary>
    public static (float[] Values, long[] Shape) Concatenate(IReadOnlyList<Tensor> scales)
    {
        int n = scales[0].N;
        int total = scales.Sum(t => t.Length / n);
        var data = new float[n * total];
        int offset = 0;
        for (int b = 0; b < n; b++)
        {
            foreach (Tensor t in scales)
            {
                t.Sample(b).CopyTo(data.AsSpan(offset));
                offset += t.Length / n;
            }
        }
        return (data, [n, total]);
    }

    /// <summary>One NCHW tensor as an ONNX input.</summary>
    public static (float[] Values, long[] Shape) Input(Tensor t) => (t.Span.ToArray(), t.Shape.ToArray().Select(d => (long)d).ToArray());

    public void Dispose() => _session.Dispose();
}
