using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;
using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.Transforms;

/// <summary>
/// The paper's MS-CaiT features (METHOD.md A.2.1): a CaiT token model at the input size (448) and one at half size
/// (224, bicubic downsampling of the normalised image), each turned into a [D, √N, √N] map; output
/// <see cref="FeatureMapsColumnType"/> with 2 scales, finest first. Both ONNX models are embedded in saved models.
/// </summary>
public sealed class CaiTFeaturizerTransformer : RowToRowTransformer, IDisposable
{
    internal const string Name = "CaiTFeaturizer";
    private static readonly ComponentVersion s_version = new("UFLOWCAT", 1, 1);
    private readonly byte[] _fine, _coarse;
    private MsCaitFeaturizer? _featurizer;
    private readonly Lock _lock = new();

    /// <summary>Creates the transformer from the bytes of the fine (448) and coarse (224) CaiT token models.</summary>
    public CaiTFeaturizerTransformer(string outputColumnName, string inputColumnName, byte[] fineModel, byte[] coarseModel)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        ArgumentNullException.ThrowIfNull(fineModel);
        ArgumentNullException.ThrowIfNull(coarseModel);
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        _fine = fineModel;
        _coarse = coarseModel;
        _featurizer = MsCaitFeaturizer.FromBytes(_fine, _coarse); // fails now (at Fit) on a bad model
        InputSize = _featurizer.InputSize;
    }

    /// <summary>The produced column.</summary>
    public string OutputColumnName { get; }

    /// <summary>The normalised [3, S, S] input column.</summary>
    public string InputColumnName { get; }

    /// <summary>The input size S the fine model takes (448 for MS-CaiT).</summary>
    public int InputSize { get; }

    /// <inheritdoc/>
    public override string ComponentName => Name;

    /// <inheritdoc/>
    protected override ComponentVersion Version => s_version;

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaColumn> GetAddedColumns(DataSchema inputSchema)
    {
        inputSchema.Require(InputColumnName, ColumnType.Tensor(3, -1, -1), Name);
        return [new SchemaColumn(OutputColumnName, ColumnType.FeatureMaps(2))];
    }

    /// <inheritdoc/>
    protected override void MapRow(DataRow input, object?[] outputs)
    {
        var pixels = input.Get<Tensor>(InputColumnName);
        var batch = pixels.Reshape(1, pixels.Shape[0], pixels.Shape[1], pixels.Shape[2]);
        var maps = new Tensor[2];
        lock (_lock)
        {
            var featurizer = _featurizer ?? throw new ObjectDisposedException(nameof(CaiTFeaturizerTransformer));
            var result = featurizer.Extract(batch);
            for (int i = 0; i < maps.Length; i++)
            {
                var r = result[i];
                maps[i] = new Tensor(r.C, r.H, r.W);
                r.Sample(0).CopyTo(maps[i].Span);
            }
        }
        outputs[0] = maps;
    }

    /// <inheritdoc/>
    protected override void SaveCore(ModelSaveContext context)
    {
        context.WriteJson("settings.json", new[] { OutputColumnName, InputColumnName });
        context.WriteBytes("fine.onnx", _fine);
        context.WriteBytes("coarse.onnx", _coarse);
    }

    internal static CaiTFeaturizerTransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(Name, s_version);
        var names = context.ReadJson<string[]>("settings.json");
        return new CaiTFeaturizerTransformer(names[0], names[1], context.ReadBytes("fine.onnx"), context.ReadBytes("coarse.onnx"));
    }

    /// <summary>Releases the ONNX Runtime sessions.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _featurizer?.Dispose();
            _featurizer = null;
        }
    }
}
