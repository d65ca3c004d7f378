namespace Microsoft.ML.UFlow.Cli;

/// <summary>
/// Disposes a fitted or loaded pipeline and every member of it: its <c>OnnxTransformer</c>s hold ONNX Runtime sessions
/// (native memory), and a chain does not promise to dispose what it holds.
/// </summary>
internal static class TransformerDisposal
{
    public static void Dispose(ITransformer transformer)
    {
        if (transformer is IEnumerable<ITransformer> chain)
        {
            foreach (ITransformer member in chain) Dispose(member);
        }
        (transformer as IDisposable)?.Dispose();
    }
}
