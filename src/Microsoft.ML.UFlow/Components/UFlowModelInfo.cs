using System.IO.Compression;
using Microsoft.ML.UFlow.Onnx;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Reads the facts of a U-Flow or CS-Flow model (method, scales, map size, threshold, library and format version,
/// training statistics) from the <c>metadata_props</c> of its flow graph, in a model in memory or a saved <c>.zip</c>.
/// </summary>
public static class UFlowModelInfo
{
    /// <summary>The facts of the flow graph in <paramref name="model"/> (a pipeline as fitted, or as loaded).</summary>
    /// <exception cref="InvalidDataException">The model holds no flow graph of this library, or one of another format version.</exception>
    public static FlowModelFacts Read(ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        // ML.NET keeps a loaded OnnxTransformer's bytes internal; its saved form is public.
        using var stream = new MemoryStream();
        new MLContext().Model.Save(model, null, stream);
        stream.Position = 0;
        using var zip = new ZipArchive(stream, ZipArchiveMode.Read);
        return FromZip(zip, "the model");
    }

    /// <summary>The facts of the flow graph in the model file at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an ML.NET model, is a version-1 model, or holds no flow graph of
    /// this library (or one of another format version).</exception>
    public static FlowModelFacts Read(string path)
    {
        using var zip = UFlowModelFile.OpenZip(path);
        return FromZip(zip, $"'{path}'");
    }

    private static FlowModelFacts FromZip(ZipArchive zip, string source)
    {
        foreach (var entry in zip.Entries.Where(e => e.Name == "OnnxModel"))
        {
            byte[] onnx = UFlowModelFile.ReadOnnxEntry(entry);
            if (IsFlowGraph(onnx)) return FlowModelFacts.Read(onnx);
        }
        throw new InvalidDataException($"{source} holds no U-Flow or CS-Flow graph: it was not trained by Microsoft.ML.UFlow.");
    }

    // A backbone or a settings graph has no method key; a flow graph of any format version has one.
    private static bool IsFlowGraph(byte[] onnx)
    {
        try
        {
            return global::Onnx.ModelProto.Parser.ParseFrom(onnx).MetadataProps.Any(p => p.Key == FlowMetadataKeys.Method);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return false;
        }
    }
}
