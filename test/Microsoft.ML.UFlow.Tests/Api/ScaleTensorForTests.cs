using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Api;

/// <summary>A minimal trainable component for framework tests: learns the mean of a tensor column and outputs x − mean.</summary>
internal sealed class CenterTensorTransformer : RowToRowTransformer
{
    public const string Name = "Tests.CenterTensor";
    private static readonly ComponentVersion s_version = new("UFLOWTST", 1, 1);
    private readonly string _output, _input;
    private readonly float _mean;

    static CenterTensorTransformer() => ComponentRegistry.Register(Name, Load);

    public static void EnsureRegistered() { }

    public CenterTensorTransformer(string output, string input, float mean)
    {
        _output = output;
        _input = input;
        _mean = mean;
    }

    public float Mean => _mean;

    public override string ComponentName => Name;

    protected override ComponentVersion Version => s_version;

    protected override IReadOnlyList<SchemaColumn> GetAddedColumns(DataSchema inputSchema)
    {
        var col = inputSchema.Require(_input, ColumnType.Tensor(-1, -1), Name);
        return [new SchemaColumn(_output, col.Type)];
    }

    protected override void MapRow(DataRow input, object?[] outputs)
    {
        var x = input.Get<Tensor>(_input);
        var y = new Tensor(x.Shape.ToArray());
        TensorPrimitives.Subtract(x.Span, _mean, y.Span);
        outputs[0] = y;
    }

    protected override void SaveCore(ModelSaveContext context)
    {
        context.WriteJson("settings.json", new[] { _output, _input });
        context.WriteFloats("mean.bin", [_mean]);
    }

    private static CenterTensorTransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(Name, s_version);
        var names = context.ReadJson<string[]>("settings.json");
        return new CenterTensorTransformer(names[0], names[1], context.ReadFloats("mean.bin", 1)[0]);
    }
}

internal sealed class CenterTensorEstimator(string output, string input) : IEstimator<CenterTensorTransformer>
{
    public CenterTensorTransformer Fit(IDataView data)
    {
        GetOutputSchema(data.Schema);
        double sum = 0; long n = 0;
        foreach (var row in data.GetRows())
        {
            var t = row.Get<Tensor>(input);
            sum += TensorPrimitives.Sum(t.Span);
            n += t.Length;
        }
        return new CenterTensorTransformer(output, input, (float)(sum / n));
    }

    public DataSchema GetOutputSchema(DataSchema inputSchema) => new CenterTensorTransformer(output, input, 0).GetOutputSchema(inputSchema);
}
