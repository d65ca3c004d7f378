using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.UFlow.Tensors;
using OrtException = Microsoft.ML.OnnxRuntime.OnnxRuntimeException;

namespace Microsoft.ML.UFlow.Benchmarks.Featurization;

/// <summary>
/// One ONNX Runtime <see cref="InferenceSession"/> over a model with float32 tensor inputs and outputs, opened from a file
/// or from bytes with the threads, optimisation level and device of <see cref="OnnxRuntimeOptions"/>. The input is bound
/// to ONNX Runtime without a copy; each output is copied into a caller-owned tensor whose buffer is reused.
/// </summary>
/// <remarks>
/// ONNX Runtime's own errors (<see cref="OrtException"/>) are wrapped in an <see cref="InvalidOperationException"/> whose
/// message names the model (and, for a run, the input and outputs), with ONNX Runtime's exception as the inner exception.
/// </remarks>
internal sealed class OnnxSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions;
    private bool _disposed;

    private OnnxSession(InferenceSession session, string model, bool usesGpu)
    {
        try
        {
            Model = model;
            UsesGpu = usesGpu;
            Inputs = session.InputNames.Select(n => OnnxTensorInfo.From(n, session.InputMetadata[n])).ToArray();
            Outputs = session.OutputNames.Select(n => OnnxTensorInfo.From(n, session.OutputMetadata[n])).ToArray();
            _runOptions = new RunOptions();
            _session = session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The version of the loaded ONNX Runtime native library, such as "1.32.0".</summary>
    public static string RuntimeVersion => OrtEnv.Instance().GetVersionString();

    /// <summary>The execution providers the loaded ONNX Runtime library was built with.</summary>
    public static IReadOnlyList<string> AvailableProviders => OrtEnv.Instance().GetAvailableProviders();

    /// <summary>The model as named in messages: its full path in quotes, or "in-memory model (N bytes)".</summary>
    public string Model { get; }

    /// <summary>The model's inputs, in order.</summary>
    public OnnxTensorInfo[] Inputs { get; }

    /// <summary>The model's outputs, in order.</summary>
    public OnnxTensorInfo[] Outputs { get; }

    /// <summary>Whether the session runs on the CUDA execution provider (false after a fallback to the CPU).</summary>
    public bool UsesGpu { get; }

    /// <summary>Opens the model file at <paramref name="modelPath"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidOperationException">ONNX Runtime rejected the model, or the GPU could not be used and <see cref="OnnxRuntimeOptions.FallbackToCpu"/> is off.</exception>
    public static OnnxSession FromFile(string modelPath, OnnxRuntimeOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        string full = Path.GetFullPath(modelPath);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"ONNX model file '{full}' does not exist.", full);
        }
        return Create(o => new InferenceSession(full, o), options, $"'{full}'");
    }

    /// <summary>Opens a model held in memory (for example one embedded in a saved pipeline).</summary>
    /// <exception cref="InvalidOperationException">ONNX Runtime rejected the model, or the GPU could not be used and <see cref="OnnxRuntimeOptions.FallbackToCpu"/> is off.</exception>
    public static OnnxSession FromBytes(byte[] model, OnnxRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Length == 0) throw new ArgumentException("The ONNX model bytes are empty.", nameof(model));
        return Create(o => new InferenceSession(model, o), options, $"in-memory model ({model.Length} bytes)");
    }

    private static OnnxSession Create(Func<SessionOptions, InferenceSession> open, OnnxRuntimeOptions options, string model)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.GpuDeviceId is int device)
        {
            InferenceSession? onGpu = null;
            try
            {
                // Disposed on every path, also when appending the provider fails half-way.
                using SessionOptions gpuOptions = CreateOptions(options);
                gpuOptions.AppendExecutionProvider_CUDA(device);
                onGpu = open(gpuOptions);
            }
            catch (Exception e) when (IsGpuFailure(e) && options.FallbackToCpu)
            {
                // ML.NET's semantics: a GPU that cannot be used is replaced by the CPU when the caller allows it.
                Trace.TraceWarning($"GPU device {device} unavailable for {model}; running on the CPU. {e.Message}");
            }
            catch (Exception e) when (IsGpuFailure(e))
            {
                throw new InvalidOperationException(
                    $"GPU device {device} was requested for {model} but ONNX Runtime {RuntimeVersion} could not use it " +
                    $"(available providers: {string.Join(", ", AvailableProviders)}; GPU inference needs the Microsoft.ML.OnnxRuntime.Gpu " +
                    $"package and a working CUDA set-up). Set FallbackToCpu = true to run on the CPU instead. {e.Message}", e);
            }
            if (onGpu is not null) return new OnnxSession(onGpu, model, usesGpu: true);
        }
        using SessionOptions cpuOptions = CreateOptions(options);
        InferenceSession onCpu;
        try
        {
            onCpu = open(cpuOptions);
        }
        catch (OrtException e)
        {
            throw new InvalidOperationException($"ONNX Runtime {RuntimeVersion} could not open {model}: {e.Message}", e);
        }
        return new OnnxSession(onCpu, model, usesGpu: false);
    }

    /// <summary>
    /// ONNX Runtime's error, or the CPU-only native library's missing CUDA entry point (what the Microsoft.ML.OnnxRuntime
    /// package raises when the CUDA provider is appended).
    /// </summary>
    private static bool IsGpuFailure(Exception e) => e is OrtException or EntryPointNotFoundException;

    private static SessionOptions CreateOptions(OnnxRuntimeOptions options)
    {
        var result = new SessionOptions();
        try
        {
            result.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
            result.GraphOptimizationLevel = options.GraphOptimizationLevel switch
            {
                OnnxGraphOptimizationLevel.Disabled => GraphOptimizationLevel.ORT_DISABLE_ALL,
                OnnxGraphOptimizationLevel.Basic => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                OnnxGraphOptimizationLevel.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            };
            result.IntraOpNumThreads = options.IntraOpNumThreads ?? Environment.ProcessorCount;
            if (options.InterOpNumThreads is int inter) result.InterOpNumThreads = inter;
            if (!options.AllowThreadSpinning)
            {
                result.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                result.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
            }
            // Per session, not process-wide: ORT's warnings would interleave with the CLI's progress output.
            result.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>Index of the output called <paramref name="name"/>, or an <see cref="ArgumentException"/> listing the outputs that exist.</summary>
    public int OutputIndex(string name)
    {
        int index = Array.FindIndex(Outputs, o => o.Name == name);
        if (index >= 0) return index;
        throw new ArgumentException($"{Model} has no output named '{name}'. Available outputs: {string.Join(", ", Outputs.Select(o => o.ToString()))}.", nameof(name));
    }

    /// <summary>Index of the input called <paramref name="name"/>, or an <see cref="ArgumentException"/> listing the inputs that exist.</summary>
    public int InputIndex(string name)
    {
        int index = Array.FindIndex(Inputs, o => o.Name == name);
        if (index >= 0) return index;
        throw new ArgumentException($"{Model} has no input named '{name}'. Available inputs: {string.Join(", ", Inputs.Select(o => o.ToString()))}.", nameof(name));
    }

    /// <summary>
    /// Runs the model on <paramref name="input"/> (bound without a copy to input <paramref name="inputName"/>) and copies each
    /// requested output into the matching destination tensor, reshaping it (its buffer is reused when large enough).
    /// </summary>
    /// <exception cref="InvalidOperationException">ONNX Runtime failed, or an output is not a float32 tensor of rank 1 to 4.</exception>
    public void Run(string inputName, Tensor input, string[] outputNames, Tensor[] destinations)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var shape = new long[input.Rank];
        for (int i = 0; i < shape.Length; i++) shape[i] = input.Shape[i];
        // Pins the tensor's buffer for the lifetime of the value; ORT reads it in place.
        using OrtValue value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.Buffer.AsMemory(0, input.Length), shape);
        IDisposableReadOnlyCollection<OrtValue> outputs;
        try
        {
            outputs = _session.Run(_runOptions, [inputName], [value], outputNames);
        }
        catch (OrtException e)
        {
            throw new InvalidOperationException(
                $"ONNX Runtime {RuntimeVersion} failed to run {Model} on input '{inputName}' {input} for outputs {string.Join(", ", outputNames)}: {e.Message}", e);
        }
        using (outputs)
        {
            int i = 0;
            foreach (OrtValue output in outputs)
            {
                CopyOut(output, outputNames[i], destinations[i]);
                i++;
            }
        }
    }

    private void CopyOut(OrtValue value, string name, Tensor destination)
    {
        if (!value.IsTensor)
        {
            throw new InvalidOperationException($"Output '{name}' of {Model} is a {value.OnnxType}; only float32 tensors are supported.");
        }
        OrtTensorTypeAndShapeInfo info = value.GetTensorTypeAndShape();
        if (info.ElementDataType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
        {
            throw new InvalidOperationException($"Output '{name}' of {Model} has element type {info.ElementDataType}; only float32 outputs are supported.");
        }
        long[] dims = info.Shape;
        if (dims.Length is < 1 or > 4)
        {
            throw new InvalidOperationException($"Output '{name}' of {Model} has rank {dims.Length}; outputs of rank 1 to 4 are supported.");
        }
        var shape = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) shape[i] = checked((int)dims[i]);
        destination.EnsureShape(shape);
        value.GetTensorDataAsSpan<float>().CopyTo(destination.Span);
    }

    /// <summary>Releases the native session; later calls are no-ops.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _runOptions.Dispose();
        _session.Dispose();
    }
}
