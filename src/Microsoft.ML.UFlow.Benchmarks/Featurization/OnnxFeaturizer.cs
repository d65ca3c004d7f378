using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Benchmarks.Featurization;

/// <summary>
/// Multi-scale features from any ONNX backbone: the user names the model outputs to keep (for example
/// <c>layer1_act, layer2_act, layer3_act</c> of the ResNet-50 v2 model, or <c>stride4, stride8, stride16</c> of MobileNetV2),
/// and each call returns one feature map per name, for a whole batch, in the order given.
/// </summary>
/// <remarks>
/// The model runs in an ONNX Runtime <c>InferenceSession</c> (package Microsoft.ML.OnnxRuntime); the batch is handed to it
/// without a copy. The input must be an already normalised NCHW float32 batch. Output tensors are reused between calls:
/// the maps returned by <see cref="Extract"/> are overwritten by the next call, so an instance must not be used from
/// several threads at once.
/// </remarks>
/// <example>
/// <code>
/// var options = new OnnxRuntimeOptions { IntraOpNumThreads = 2 };
/// using var featurizer = new OnnxFeaturizer("resnet50v2_imagenet_layer1-3.onnx", ["layer1_act", "layer2_act", "layer3_act"], options);
/// IReadOnlyList&lt;FeatureMapInfo&gt; scales = featurizer.Describe(256, 256);   // 256, 512, 1024 channels at strides 4, 8, 16
/// IReadOnlyList&lt;Tensor&gt; maps = featurizer.Extract(batch);              // batch: normalised [N, 3, 256, 256]
/// </code>
/// </example>
internal sealed class OnnxFeaturizer : IDisposable
{
    private readonly OnnxSession _session;
    private readonly string[] _outputNames;
    private readonly Tensor[] _outputs;
    private readonly OnnxTensorInfo _input;
    private readonly Dictionary<(int, int), FeatureMapInfo[]> _described = [];

    /// <summary>Opens the ONNX model at <paramref name="modelPath"/> and selects the outputs <paramref name="outputNames"/>.</summary>
    /// <param name="modelPath">The .onnx file.</param>
    /// <param name="outputNames">Model outputs to return, one feature map each, in this order.</param>
    /// <param name="options">Threads, optimisation and device; null for the defaults.</param>
    /// <param name="inputName">The model input to feed; null when the model has a single input.</param>
    /// <exception cref="FileNotFoundException">The model file does not exist.</exception>
    /// <exception cref="ArgumentException">An output or input name is not in the model (the message lists those that are).</exception>
    /// <exception cref="InvalidOperationException">
    /// ONNX Runtime rejected the model, or the GPU asked for cannot be used and <see cref="OnnxRuntimeOptions.FallbackToCpu"/> is off
    /// (the message names the model; the inner exception is ONNX Runtime's <c>Microsoft.ML.OnnxRuntime.OnnxRuntimeException</c>).
    /// </exception>
    public OnnxFeaturizer(string modelPath, IEnumerable<string> outputNames, OnnxRuntimeOptions? options = null, string? inputName = null)
        : this(OnnxSession.FromFile(modelPath, options ?? new OnnxRuntimeOptions()), outputNames, inputName)
    {
    }

    /// <summary>Opens an ONNX model held in memory (for example one embedded in a saved pipeline).</summary>
    /// <inheritdoc cref="OnnxFeaturizer(string, IEnumerable{string}, OnnxRuntimeOptions?, string?)"/>
    public static OnnxFeaturizer FromBytes(byte[] model, IEnumerable<string> outputNames, OnnxRuntimeOptions? options = null, string? inputName = null) =>
        new(OnnxSession.FromBytes(model, options ?? new OnnxRuntimeOptions()), outputNames, inputName);

    private OnnxFeaturizer(OnnxSession session, IEnumerable<string> outputNames, string? inputName)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(outputNames);
            string[] names = outputNames.ToArray();
            if (names.Length == 0) throw new ArgumentException("At least one output name is needed.", nameof(outputNames));
            if (names.Distinct().Count() != names.Length) throw new ArgumentException($"Output names repeat: {string.Join(", ", names)}.", nameof(outputNames));
            foreach (string name in names)
            {
                int index = session.OutputIndex(name);
                if (!session.Outputs[index].IsFloatTensor)
                {
                    throw new ArgumentException($"Output '{name}' of {session.Model} is not a float32 tensor ({session.Outputs[index].ShapeText}).", nameof(outputNames));
                }
            }
            OnnxTensorInfo input;
            if (inputName is null)
            {
                if (session.Inputs.Length != 1)
                {
                    throw new ArgumentException($"{session.Model} has {session.Inputs.Length} inputs ({string.Join(", ", session.Inputs.Select(i => i.ToString()))}); name the one to feed.", nameof(inputName));
                }
                input = session.Inputs[0];
            }
            else
            {
                input = session.Inputs[session.InputIndex(inputName)];
            }
            if (!input.IsFloatTensor || input.Dimensions.Length != 4)
            {
                throw new ArgumentException($"Input '{input.Name}' of {session.Model} is not a rank-4 float32 tensor (shape {input.ShapeText}).", nameof(inputName));
            }
            _session = session;
            InputName = input.Name;
            _input = input;
            OutputNames = Array.AsReadOnly(names);
            _outputNames = names;
            _outputs = names.Select(_ => new Tensor(1)).ToArray();
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The model input that is fed.</summary>
    public string InputName { get; }

    /// <summary>The names of the maps, in output order.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Every output of the model, as "name [dims]" with '?' for dynamic dimensions.</summary>
    public IReadOnlyList<string> AvailableOutputs => _session.Outputs.Select(o => o.ToString()).ToArray();

    /// <summary>Whether the model runs on the GPU (false when running on the CPU, including after a fallback).</summary>
    public bool UsesGpu => _session.UsesGpu;

    /// <summary>The channel count, size and stride of every map for an input of the given size (probing the model once per size).</summary>
    public IReadOnlyList<FeatureMapInfo> Describe(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (_described.TryGetValue((height, width), out FeatureMapInfo[]? known)) return known;
        int channels = _input.Dimensions[1] > 0 ? (int)_input.Dimensions[1] : 3;
        // Probe with a zero image into separate tensors, so that Extract's buffers are untouched.
        var input = new Tensor(1, channels, height, width);
        CheckInput(input, nameof(height));
        Tensor[] maps = _outputNames.Select(_ => new Tensor(1)).ToArray();
        _session.Run(InputName, input, _outputNames, maps);
        var infos = new FeatureMapInfo[maps.Length];
        for (int i = 0; i < maps.Length; i++)
        {
            Tensor m = maps[i];
            if (m.Rank != 4)
            {
                throw new InvalidOperationException($"Output '{OutputNames[i]}' has shape {m} for a {height}x{width} input; a feature map must be rank 4 (NCHW).");
            }
            infos[i] = new FeatureMapInfo(OutputNames[i], m.C, m.H, m.W, Math.Max(1, (int)Math.Round((double)height / m.H)));
        }
        _described[(height, width)] = infos;
        return infos;
    }

    /// <summary>Featurises <paramref name="batch"/> ([N, 3, H, W]); returns one [N, C, h, w] map per output, owned by the featurizer.</summary>
    /// <exception cref="ArgumentException">The batch is not rank 4 or its channel count / size does not fit the model's input.</exception>
    /// <exception cref="InvalidOperationException">ONNX Runtime failed to run the model (the message names the model, input and outputs; the inner exception is ONNX Runtime's).</exception>
    /// <exception cref="ObjectDisposedException">The featurizer was disposed.</exception>
    public IReadOnlyList<Tensor> Extract(Tensor batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        CheckInput(batch, nameof(batch));
        _session.Run(InputName, batch, _outputNames, _outputs);
        for (int i = 0; i < _outputs.Length; i++)
        {
            if (_outputs[i].Rank != 4)
            {
                throw new InvalidOperationException($"Output '{OutputNames[i]}' has shape {_outputs[i]}; a feature map must be rank 4 (NCHW).");
            }
        }
        return _outputs;
    }

    /// <summary>Runs the model and returns the selected outputs whatever their rank (used by featurizers built on top, such as MS-CaiT).</summary>
    internal IReadOnlyList<Tensor> RunRaw(Tensor batch)
    {
        CheckInput(batch, nameof(batch));
        _session.Run(InputName, batch, _outputNames, _outputs);
        return _outputs;
    }

    private void CheckInput(Tensor batch, string argument)
    {
        batch.CheckRank4(argument);
        string[] axes = ["batch", "channel", "height", "width"];
        for (int axis = 0; axis < 4; axis++)
        {
            long expected = _input.Dimensions[axis];
            if (expected > 0 && batch.Shape[axis] != expected)
            {
                throw new ArgumentException(
                    $"Input '{InputName}' of {_session.Model} expects {axes[axis]} size {expected} (model input shape {_input.ShapeText}) but the batch has shape {batch}.", argument);
            }
        }
    }

    /// <summary>Releases the ONNX Runtime session; later calls are no-ops.</summary>
    public void Dispose() => _session.Dispose();
}
