using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Features.Onnx;

/// <summary>The name, element type and dimensions (-1 = dynamic) of a model input or output.</summary>
internal sealed record OrtNodeInfo(string Name, int ElementType, long[] Dimensions)
{
    /// <summary>The shape as text, dynamic dimensions shown as '?'.</summary>
    public string ShapeText => "[" + string.Join(", ", Dimensions.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
}

/// <summary>
/// An inference session over one ONNX model with float32 tensor inputs and outputs: created from a file or from bytes,
/// with the threads, optimisation level and device of <see cref="OnnxRuntimeOptions"/>. Run is thread-safe in ORT,
/// but callers that reuse destination tensors must not share them across threads.
/// </summary>
internal sealed unsafe class OrtSession : IDisposable
{
    private readonly OrtHandle _session;

    private OrtSession(OrtHandle session, bool usesGpu)
    {
        _session = session;
        UsesGpu = usesGpu;
        int inputs = OrtApi.GetInputCount(session);
        Inputs = new OrtNodeInfo[inputs];
        for (int i = 0; i < inputs; i++)
        {
            (int type, long[] dims) = OrtApi.GetInputTensorInfo(session, i);
            Inputs[i] = new OrtNodeInfo(OrtApi.GetInputName(session, i), type, dims);
        }
        int outputs = OrtApi.GetOutputCount(session);
        Outputs = new OrtNodeInfo[outputs];
        for (int i = 0; i < outputs; i++)
        {
            (int type, long[] dims) = OrtApi.GetOutputTensorInfo(session, i);
            Outputs[i] = new OrtNodeInfo(OrtApi.GetOutputName(session, i), type, dims);
        }
    }

    /// <summary>The model's inputs, in order.</summary>
    public OrtNodeInfo[] Inputs { get; }

    /// <summary>The model's outputs, in order.</summary>
    public OrtNodeInfo[] Outputs { get; }

    /// <summary>Whether the session runs on the CUDA execution provider (false after a fallback to the CPU).</summary>
    public bool UsesGpu { get; }

    /// <summary>Opens the model file at <paramref name="modelPath"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static OrtSession FromFile(string modelPath, OnnxRuntimeOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        string full = Path.GetFullPath(modelPath);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"ONNX model file '{full}' does not exist.", full);
        }
        return Create(o => OrtApi.CreateSession(full, o), options, $"'{full}'");
    }

    /// <summary>Opens a model held in memory (for example embedded in a saved pipeline).</summary>
    public static OrtSession FromBytes(byte[] model, OnnxRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Length == 0) throw new ArgumentException("The ONNX model bytes are empty.", nameof(model));
        return Create(o => OrtApi.CreateSessionFromArray(model, o), options, $"in-memory model ({model.Length} bytes)");
    }

    private static OrtSession Create(Func<OrtHandle, OrtHandle> open, OnnxRuntimeOptions options, string what)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.GpuDeviceId is int device)
        {
            try
            {
                using OrtHandle gpuOptions = CreateOptions(options);
                OrtApi.AppendCudaExecutionProvider(gpuOptions, device);
                return new OrtSession(open(gpuOptions), usesGpu: true);
            }
            catch (OnnxRuntimeException e) when (options.FallbackToCpu)
            {
                // ML.NET's semantics: a GPU that cannot be used is replaced by the CPU when the caller allows it.
                System.Diagnostics.Trace.TraceWarning($"GPU device {device} unavailable for {what}; running on the CPU. {e.Message}");
            }
            catch (OnnxRuntimeException e)
            {
                throw new OnnxRuntimeException(e.ErrorCode,
                    $"GPU device {device} was requested for {what} but ONNX Runtime {OrtApi.Version} could not use it " +
                    $"(available providers: {string.Join(", ", OrtApi.GetAvailableProviders())}). Set FallbackToCpu = true to run on the CPU instead. {e.Message}");
            }
        }
        using OrtHandle cpuOptions = CreateOptions(options);
        return new OrtSession(open(cpuOptions), usesGpu: false);
    }

    private static OrtHandle CreateOptions(OnnxRuntimeOptions options)
    {
        OrtHandle handle = OrtApi.CreateSessionOptions();
        try
        {
            OrtApi.SetSequentialExecution(handle);
            OrtApi.SetGraphOptimizationLevel(handle, (int)options.GraphOptimizationLevel);
            if (options.IntraOpNumThreads is int intra) OrtApi.SetIntraOpNumThreads(handle, intra);
            if (options.InterOpNumThreads is int inter) OrtApi.SetInterOpNumThreads(handle, inter);
            if (!options.AllowThreadSpinning)
            {
                OrtApi.AddSessionConfigEntry(handle, "session.intra_op.allow_spinning", "0");
                OrtApi.AddSessionConfigEntry(handle, "session.inter_op.allow_spinning", "0");
            }
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Index of the output called <paramref name="name"/>, or an <see cref="ArgumentException"/> listing the outputs that exist.</summary>
    public int OutputIndex(string name)
    {
        for (int i = 0; i < Outputs.Length; i++)
        {
            if (Outputs[i].Name == name) return i;
        }
        throw new ArgumentException(
            $"The model has no output named '{name}'. Available outputs: {string.Join(", ", Outputs.Select(o => $"{o.Name} {o.ShapeText}"))}.", nameof(name));
    }

    /// <summary>Index of the input called <paramref name="name"/>, or an <see cref="ArgumentException"/> listing the inputs that exist.</summary>
    public int InputIndex(string name)
    {
        for (int i = 0; i < Inputs.Length; i++)
        {
            if (Inputs[i].Name == name) return i;
        }
        throw new ArgumentException(
            $"The model has no input named '{name}'. Available inputs: {string.Join(", ", Inputs.Select(o => $"{o.Name} {o.ShapeText}"))}.", nameof(name));
    }

    /// <summary>
    /// Runs the model on <paramref name="input"/> (bound without a copy to input <paramref name="inputName"/>) and copies each
    /// requested output into the matching destination tensor, reshaping it (its buffer is reused when large enough).
    /// </summary>
    /// <param name="inputName">UTF-8, zero-terminated input name.</param>
    /// <param name="input">The input tensor (any rank).</param>
    /// <param name="outputNames">UTF-8, zero-terminated output names.</param>
    /// <param name="destinations">One tensor per output name.</param>
    public void Run(byte[] inputName, Tensor input, byte[][] outputNames, Tensor[] destinations)
    {
        Span<long> shape = stackalloc long[input.Rank];
        for (int i = 0; i < shape.Length; i++) shape[i] = input.Shape[i];
        var outputs = new IntPtr[outputNames.Length];
        try
        {
            fixed (float* data = input.Buffer)
            {
                using OrtHandle value = OrtApi.CreateTensorOverBuffer(data, input.Length, shape);
                OrtApi.Run(_session, inputName, value, outputNames, outputs);
            }
            for (int i = 0; i < outputs.Length; i++)
            {
                CopyOut(outputs[i], outputNames[i], destinations[i]);
            }
        }
        finally
        {
            foreach (IntPtr output in outputs)
            {
                if (output != IntPtr.Zero) OrtApi.Release(OrtApi.SlotReleaseValue, output);
            }
            GC.KeepAlive(this);
        }
    }

    private static void CopyOut(IntPtr value, byte[] nameUtf8z, Tensor destination)
    {
        string Name() => System.Text.Encoding.UTF8.GetString(nameUtf8z, 0, nameUtf8z.Length - 1);
        (int type, long[] dims, IntPtr data) = OrtApi.GetTensor(value);
        if (type != OrtApi.ElementTypeFloat)
        {
            throw new InvalidOperationException($"Model output '{Name()}' has ONNX element type {type}; only float32 (1) outputs are supported.");
        }
        if (dims.Length is < 1 or > 4)
        {
            throw new InvalidOperationException($"Model output '{Name()}' has rank {dims.Length}; outputs of rank 1 to 4 are supported.");
        }
        var shape = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) shape[i] = checked((int)dims[i]);
        destination.EnsureShape(shape);
        new ReadOnlySpan<float>((void*)data, destination.Length).CopyTo(destination.Span);
    }

    /// <inheritdoc/>
    public void Dispose() => _session.Dispose();
}
