using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;

namespace Microsoft.ML.UFlow.Api;

/// <summary>Model persistence and prediction engines (ML.NET's <c>ModelOperationsCatalog</c>).</summary>
public sealed class ModelCatalog
{
    internal ModelCatalog(UFlowContext context) => Context = context;

    internal UFlowContext Context { get; }

    /// <summary>
    /// Saves a fitted pipeline and the schema of the data it takes to one <c>.zip</c> (one versioned entry folder per
    /// component, weights as little-endian float32, ONNX backbones embedded). The file is written to a temporary file
    /// beside <paramref name="filePath"/> and renamed, so an existing model is replaced atomically.
    /// </summary>
    /// <exception cref="SchemaMismatchException">The model cannot run on <paramref name="inputSchema"/>.</exception>
    public void Save(ITransformer model, DataSchema inputSchema, string filePath) => ModelFile.Save(model, inputSchema, filePath);

    /// <summary>Loads a model saved by <see cref="Save"/> and returns it with the input schema it was saved with.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelFormatException">The file is not a model of this library, is corrupt, or was written by a newer version.</exception>
    public ITransformer Load(string filePath, out DataSchema inputSchema) => ModelFile.Load(filePath, out inputSchema);

    /// <summary>Creates an engine that runs <paramref name="model"/> on one row (for example one image) at a time.</summary>
    /// <exception cref="SchemaMismatchException">The model cannot run on <paramref name="inputSchema"/>.</exception>
    public PredictionEngine CreatePredictionEngine(ITransformer model, DataSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        return new PredictionEngine(model, inputSchema);
    }
}
