using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.UFlow.Onnx;

/// <summary>
/// Runs an exported flow graph directly on ONNX Runtime, batch by batch, for work that happens inside training (the
/// training scores that set a model's threshold) without a second pass through the ML.NET pipeline and its backbone.
/// </summary>
/// <remarks>Holds a native session: dispose it.</remarks>
internal sealed class FlowGraphSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _input;

    public FlowGraphSession(byte[] graph, string inputName)
    {
        using var options = new SessionOptions();
        _session = new InferenceSession(graph, options);
        _input = inputName;
    }

    /// <summary>Runs <paramref name="rows"/> [batch, length] and returns the output <paramref name="outputName"/> flattened.</summary>
    public float[] Run(float[] rows, int batch, string outputName)
    {
        long length = rows.Length / batch;
        using var value = OrtValue.CreateTensorValueFromMemory(rows, [batch, length]);
        using var runOptions = new RunOptions();
        using var results = _session.Run(runOptions, [_input], [value], [outputName]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public void Dispose() => _session.Dispose();
}
