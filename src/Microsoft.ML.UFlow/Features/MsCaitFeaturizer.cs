using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Features;

/// <summary>
/// The MS-CaiT feature extractor of U-Flow (METHOD.md A.2.1): two CaiT models, the fine one on the normalised 448×448
/// image and the coarse one on that normalised image downsampled to 224×224 with bicubic interpolation
/// (align_corners = true, A = −0.75, no antialiasing); each returns tokens [B, N, D] (patch embedding, positional embedding,
/// the first 41 / 21 blocks, final LayerNorm), which are reshaped row-major into maps [B, D, √N, √N].
/// </summary>
/// <remarks>
/// The two ONNX files are made from timm's <c>cait_m48_448</c> and <c>cait_s24_224</c> with <c>tools/export_mscait.py</c>:
/// one input [B, 3, S, S], one output (named <c>tokens</c>, or the model's only output). Outputs are reused between calls.
/// </remarks>
public sealed class MsCaitFeaturizer : IFeaturizer
{
    private readonly Scale _fine;
    private readonly Scale _coarse;
    private readonly Tensor _coarseInput = new(1);
    private readonly Tensor[] _maps = [new Tensor(1), new Tensor(1)];

    /// <summary>Opens the fine (448) and coarse (224) token models.</summary>
    /// <param name="fineModelPath">ONNX file of the fine model (CaiT-M48 at 448, 41 blocks).</param>
    /// <param name="coarseModelPath">ONNX file of the coarse model (CaiT-S24 at 224, 21 blocks).</param>
    /// <param name="options">Threads, optimisation and device; null for the defaults.</param>
    /// <exception cref="FileNotFoundException">A model file does not exist.</exception>
    /// <exception cref="ArgumentException">A model does not have the expected input and output.</exception>
    /// <exception cref="InvalidOperationException">
    /// ONNX Runtime rejected a model, or the GPU asked for cannot be used and <see cref="OnnxRuntimeOptions.FallbackToCpu"/> is off
    /// (the message names the model; the inner exception is ONNX Runtime's <c>Microsoft.ML.OnnxRuntime.OnnxRuntimeException</c>).
    /// </exception>
    public MsCaitFeaturizer(string fineModelPath, string coarseModelPath, OnnxRuntimeOptions? options = null)
        : this(() => OnnxSession.FromFile(fineModelPath, options ?? new OnnxRuntimeOptions()), "fine model",
               () => OnnxSession.FromFile(coarseModelPath, options ?? new OnnxRuntimeOptions()), "coarse model")
    {
    }

    /// <summary>Opens the two models from bytes (for example embedded in a saved pipeline).</summary>
    /// <inheritdoc cref="MsCaitFeaturizer(string, string, OnnxRuntimeOptions?)"/>
    public static MsCaitFeaturizer FromBytes(byte[] fineModel, byte[] coarseModel, OnnxRuntimeOptions? options = null) =>
        new(() => OnnxSession.FromBytes(fineModel, options ?? new OnnxRuntimeOptions()), "fine model",
            () => OnnxSession.FromBytes(coarseModel, options ?? new OnnxRuntimeOptions()), "coarse model");

    private MsCaitFeaturizer(Func<OnnxSession> openFine, string fineName, Func<OnnxSession> openCoarse, string coarseName)
    {
        _fine = new Scale(openFine(), fineName, defaultSize: 448);
        try
        {
            _coarse = new Scale(openCoarse(), coarseName, defaultSize: _fine.InputSize / 2);
        }
        catch
        {
            _fine.Dispose();
            throw;
        }
    }

    /// <summary>The input size S of the fine model (448 for MS-CaiT); <see cref="Extract"/> takes [B, 3, S, S].</summary>
    public int InputSize => _fine.InputSize;

    /// <summary>The input size of the coarse model (224 for MS-CaiT), reached by bicubic downsampling.</summary>
    public int CoarseInputSize => _coarse.InputSize;

    /// <inheritdoc/>
    public IReadOnlyList<string> OutputNames { get; } = ["scale1", "scale2"];

    /// <inheritdoc/>
    public IReadOnlyList<FeatureMapInfo> Describe(int height, int width)
    {
        if (height != InputSize || width != InputSize)
        {
            throw new ArgumentException($"MS-CaiT takes {InputSize}x{InputSize} inputs; got {height}x{width}.", nameof(height));
        }
        (int d1, int side1) = _fine.Geometry();
        (int d2, int side2) = _coarse.Geometry();
        return [new FeatureMapInfo(OutputNames[0], d1, side1, side1, InputSize / side1),
                new FeatureMapInfo(OutputNames[1], d2, side2, side2, InputSize / side2)];
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The batch is not [B, 3, S, S] with S = <see cref="InputSize"/>.</exception>
    public IReadOnlyList<Tensor> Extract(Tensor batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.CheckRank4(nameof(batch));
        if (batch.C != 3 || batch.H != InputSize || batch.W != InputSize)
        {
            throw new ArgumentException($"MS-CaiT takes a normalised batch [B, 3, {InputSize}, {InputSize}]; got {batch}.", nameof(batch));
        }
        _fine.Run(batch, _maps[0]);
        // The coarse model sees the *normalised* fine input, downsampled (METHOD.md A.2.1 step 1, pitfall 9).
        BicubicResize.AlignCorners(batch, _coarseInput, _coarse.InputSize, _coarse.InputSize);
        _coarse.Run(_coarseInput, _maps[1]);
        return _maps;
    }

    /// <summary>Releases both ONNX Runtime sessions; later calls are no-ops.</summary>
    public void Dispose()
    {
        _fine.Dispose();
        _coarse.Dispose();
    }

    /// <summary>One CaiT token model and its reused token buffer.</summary>
    private sealed class Scale : IDisposable
    {
        private readonly OnnxSession _session;
        private readonly string _inputName;
        private readonly string[] _outputName;
        private readonly Tensor[] _tokens = [new Tensor(1)];
        private readonly long[] _outputDims;
        private readonly string _name;

        public Scale(OnnxSession session, string role, int defaultSize)
        {
            _session = session;
            string name = _name = $"{role} {session.Model}";
            try
            {
                if (session.Inputs.Length != 1 || session.Inputs[0].Dimensions.Length != 4 || !session.Inputs[0].IsFloatTensor)
                {
                    throw new ArgumentException($"{name} must have one float32 input [B, 3, S, S]; it has {string.Join(", ", session.Inputs.Select(i => i.ToString()))}.");
                }
                OnnxTensorInfo output = session.Outputs.Length == 1 ? session.Outputs[0] : session.Outputs[session.OutputIndex("tokens")];
                if (output.Dimensions.Length != 3 || !output.IsFloatTensor)
                {
                    throw new ArgumentException($"{name}: output '{output.Name}' must be float32 tokens [B, N, D]; it is {output.ShapeText}.");
                }
                long[] dims = session.Inputs[0].Dimensions;
                if (dims[1] > 0 && dims[1] != 3) throw new ArgumentException($"{name} takes {dims[1]} channels; MS-CaiT needs 3.");
                InputSize = dims[2] > 0 ? (int)dims[2] : defaultSize;
                if (dims[3] > 0 && dims[3] != InputSize) throw new ArgumentException($"{name} takes non-square inputs {session.Inputs[0].ShapeText}.");
                _outputDims = output.Dimensions;
                _inputName = session.Inputs[0].Name;
                _outputName = [output.Name];
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }

        public int InputSize { get; }

        /// <summary>Channels D and map side √N, from the model's static output shape or, when dynamic, a probe run.</summary>
        public (int Channels, int Side) Geometry()
        {
            if (_outputDims[1] > 0 && _outputDims[2] > 0) return ((int)_outputDims[2], TokenMaps.SquareSide((int)_outputDims[1]));
            var probe = new Tensor(1, 3, InputSize, InputSize);
            Tensor[] tokens = [new Tensor(1)];
            _session.Run(_inputName, probe, _outputName, tokens);
            return (tokens[0].Shape[2], TokenMaps.SquareSide(tokens[0].Shape[1]));
        }

        public void Run(Tensor input, Tensor map)
        {
            _session.Run(_inputName, input, _outputName, _tokens);
            Tensor tokens = _tokens[0];
            if (tokens.Rank != 3 || tokens.Shape[0] != input.N)
            {
                throw new InvalidOperationException($"{_name} returned {tokens} for a batch of {input.N}; tokens [B, N, D] were expected.");
            }
            int side = TokenMaps.SquareSide(tokens.Shape[1]);
            TokenMaps.ToMaps(tokens, side, side, map);
        }

        public void Dispose() => _session.Dispose();
    }
}
