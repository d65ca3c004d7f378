using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.Transforms;

/// <summary>
/// Loads ground-truth masks for evaluation as METHOD.md Part B: decode, grey, PIL bilinear resize to the model's input
/// size, to [0,1], then (when the evaluation size differs) bilinear resize without antialias (align_corners = False) to the
/// evaluation size, and binarise at 0.5. An empty path gives an all-zero mask (normal image). Output: Tensor [S,S] of 0/1.
/// </summary>
public sealed class LoadMasksTransformer : RowToRowTransformer
{
    internal const string Name = "LoadMasks";
    private static readonly ComponentVersion s_version = new("UFLOWMSK", 1, 1);

    /// <summary>Creates the transformer.</summary>
    public LoadMasksTransformer(string outputColumnName, string inputColumnName, int inputSize, int evaluationSize)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(evaluationSize);
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        InputSize = inputSize;
        EvaluationSize = evaluationSize;
    }

    /// <summary>The produced mask column.</summary>
    public string OutputColumnName { get; }

    /// <summary>The mask-path column ("" = no mask).</summary>
    public string InputColumnName { get; }

    /// <summary>The model's input size (the first resize).</summary>
    public int InputSize { get; }

    /// <summary>The evaluation size S.</summary>
    public int EvaluationSize { get; }

    /// <inheritdoc/>
    public override string ComponentName => Name;

    /// <inheritdoc/>
    protected override ComponentVersion Version => s_version;

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaColumn> GetAddedColumns(DataSchema inputSchema)
    {
        inputSchema.Require(InputColumnName, ColumnType.Text, Name);
        return [new SchemaColumn(OutputColumnName, ColumnType.Tensor(EvaluationSize, EvaluationSize))];
    }

    /// <inheritdoc/>
    protected override void MapRow(DataRow input, object?[] outputs)
    {
        string path = input.Get<string>(InputColumnName);
        int s = EvaluationSize;
        var mask = new Tensor(s, s);
        if (path.Length > 0) GroundTruthMask.Prepare(ImageDecoder.Decode(path), InputSize, s, mask.Span);
        outputs[0] = mask;
    }

    /// <inheritdoc/>
    protected override void SaveCore(ModelSaveContext context)
        => context.WriteJson("settings.json", new Settings { Output = OutputColumnName, Input = InputColumnName, InputSize = InputSize, EvaluationSize = EvaluationSize });

    internal static LoadMasksTransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(Name, s_version);
        var s = context.ReadJson<Settings>("settings.json");
        return new LoadMasksTransformer(s.Output, s.Input, s.InputSize, s.EvaluationSize);
    }

    private sealed class Settings
    {
        public string Output { get; set; } = "";
        public string Input { get; set; } = "";
        public int InputSize { get; set; }
        public int EvaluationSize { get; set; }
    }
}
