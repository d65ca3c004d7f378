using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Api.Persistence;
using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.Transforms;

/// <summary>
/// Runs an ONNX backbone on a normalised [3, H, W] tensor column and outputs the named feature maps, finest first, as a
/// <see cref="FeatureMapsColumnType"/> column (ML.NET's <c>ApplyOnnxModel</c> specialised to multi-scale features).
/// The ONNX bytes are embedded in saved models, so a reloaded model does not need the original file.
/// </summary>
public sealed class OnnxFeaturizerTransformer : RowToRowTransformer, IDisposable
{
    internal const string Name = "OnnxFeaturizer";
    private static readonly ComponentVersion s_version = new("UFLOWONX", 1, 1);
    private readonly byte[] _model;
    private readonly string[] _outputs;
    private IFeaturizer? _featurizer;
    private readonly Lock _lock = new();

    /// <summary>Creates the transformer from ONNX bytes.</summary>
    /// <param name="outputColumnName">The feature-maps column to produce.</param>
    /// <param name="inputColumnName">The normalised [3, H, W] tensor column.</param>
    /// <param name="onnxModel">The ONNX model bytes.</param>
    /// <param name="outputNames">The model outputs to keep, finest scale first.</param>
    /// <param name="modelName">A name for messages (the file name).</param>
    public OnnxFeaturizerTransformer(string outputColumnName, string inputColumnName, byte[] onnxModel, IReadOnlyList<string> outputNames, string modelName = "model.onnx")
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        ArgumentNullException.ThrowIfNull(onnxModel);
        ArgumentNullException.ThrowIfNull(outputNames);
        if (outputNames.Count == 0) throw new ArgumentException("At least one model output is needed.", nameof(outputNames));
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        _model = onnxModel;
        _outputs = outputNames.ToArray();
        ModelName = modelName;
        // Open the session now so that a bad model or a wrong output name fails at construction (Fit), not at the first row.
        _featurizer = OnnxFeaturizer.FromBytes(_model, _outputs);
    }

    /// <summary>The produced column.</summary>
    public string OutputColumnName { get; }

    /// <summary>The input tensor column.</summary>
    public string InputColumnName { get; }

    /// <summary>The model outputs kept, finest first.</summary>
    public IReadOnlyList<string> OutputNames => _outputs;

    /// <summary>The model's name (file name) for messages.</summary>
    public string ModelName { get; }

    /// <summary>The embedded ONNX bytes.</summary>
    public ReadOnlyMemory<byte> ModelBytes => _model;

    /// <summary>The shapes of the maps for an input of this size.</summary>
    public IReadOnlyList<FeatureMapInfo> Describe(int height, int width)
    {
        lock (_lock) return Featurizer.Describe(height, width);
    }

    private IFeaturizer Featurizer => _featurizer ?? throw new ObjectDisposedException(nameof(OnnxFeaturizerTransformer));

    /// <inheritdoc/>
    public override string ComponentName => Name;

    /// <inheritdoc/>
    protected override ComponentVersion Version => s_version;

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaColumn> GetAddedColumns(DataSchema inputSchema)
    {
        inputSchema.Require(InputColumnName, ColumnType.Tensor(3, -1, -1), Name);
        return [new SchemaColumn(OutputColumnName, ColumnType.FeatureMaps(_outputs.Length))];
    }

    /// <inheritdoc/>
    protected override void MapRow(DataRow input, object?[] outputs)
    {
        var pixels = input.Get<Tensor>(InputColumnName);
        var batch = pixels.Reshape(1, pixels.Shape[0], pixels.Shape[1], pixels.Shape[2]);
        var maps = new Tensor[_outputs.Length];
        lock (_lock)
        {
            var result = Featurizer.Extract(batch);
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
        context.WriteJson("settings.json", new Settings { Output = OutputColumnName, Input = InputColumnName, Outputs = _outputs, ModelName = ModelName });
        context.WriteBytes("model.onnx", _model);
    }

    internal static OnnxFeaturizerTransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(Name, s_version);
        var s = context.ReadJson<Settings>("settings.json");
        return new OnnxFeaturizerTransformer(s.Output, s.Input, context.ReadBytes("model.onnx"), s.Outputs, s.ModelName);
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _featurizer?.Dispose();
            _featurizer = null;
        }
    }

    private sealed class Settings
    {
        public string Output { get; set; } = "";
        public string Input { get; set; } = "";
        public string[] Outputs { get; set; } = [];
        public string ModelName { get; set; } = "";
    }
}
