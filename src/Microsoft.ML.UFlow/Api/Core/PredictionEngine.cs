using Microsoft.ML.UFlow.Api.Data;

namespace Microsoft.ML.UFlow.Api;

/// <summary>
/// Runs a fitted pipeline on one row at a time (ML.NET's <c>PredictionEngine</c>), for example one image path.
/// Not thread-safe; create one per thread.
/// </summary>
public sealed class PredictionEngine
{
    private readonly ITransformer _model;

    internal PredictionEngine(ITransformer model, DataSchema inputSchema)
    {
        _model = model;
        InputSchema = inputSchema;
        OutputSchema = model.GetOutputSchema(inputSchema);
    }

    /// <summary>The schema of the rows given to <see cref="Predict(object?[])"/>.</summary>
    public DataSchema InputSchema { get; }

    /// <summary>The schema of the returned rows.</summary>
    public DataSchema OutputSchema { get; }

    /// <summary>Runs the pipeline on one input row (one value per input column, in order) and returns the output row.</summary>
    /// <exception cref="ArgumentException">A value does not match its column type.</exception>
    public DataRow Predict(params object?[] inputValues)
    {
        var view = new InMemoryDataView(InputSchema, [inputValues]);
        return _model.Transform(view).GetRows().Single();
    }

    /// <summary>
    /// Runs the pipeline on one image file. The input schema's first text column receives the path; other input columns
    /// get defaults (false for booleans, empty strings for text).
    /// </summary>
    public DataRow PredictImage(string imagePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagePath);
        var values = new object?[InputSchema.Count];
        bool placed = false;
        for (int i = 0; i < InputSchema.Count; i++)
        {
            var type = InputSchema[i].Type;
            if (type == ColumnType.Text) { values[i] = placed ? "" : imagePath; placed = true; }
            else if (type == ColumnType.Boolean) values[i] = false;
            else if (type == ColumnType.Single) values[i] = 0f;
            else throw new InvalidOperationException($"PredictImage cannot fill input column '{InputSchema[i].Name}' of type {type}; use Predict(values).");
        }
        if (!placed) throw new InvalidOperationException($"The input schema {InputSchema} has no text column for the image path.");
        return Predict(values);
    }
}
