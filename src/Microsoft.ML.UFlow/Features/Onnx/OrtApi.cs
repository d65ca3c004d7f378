using System.Runtime.InteropServices;
using System.Text;

namespace Microsoft.ML.UFlow.Features.Onnx;

/// <summary>
/// The project's binding of the ONNX Runtime C API: the library is loaded once, <c>OrtGetApiBase()->GetApi(v)</c>
/// gives the append-only table of function pointers, and every call goes through <c>delegate* unmanaged</c> at a fixed
/// slot index (DESIGN.md section 5). Every non-null <c>OrtStatus*</c> becomes an <see cref="OnnxRuntimeException"/>.
/// All native interop of the Features layer lives here; callers hold the results in <see cref="OrtHandle"/>s.
/// </summary>
internal static unsafe class OrtApi
{
    /// <summary>The native library file name.</summary>
    public const string LibraryName = "libonnxruntime.so.1";

    /// <summary>The API version requested: every slot used here exists from this version on (ORT 1.11).</summary>
    public const uint ApiVersion = 11;

    /// <summary>ONNXTensorElementDataType for float32.</summary>
    public const int ElementTypeFloat = 1;

    // Slot indices (0-based) into OrtApi; the table is append-only, so they never change.
    private const int SlotGetErrorCode = 1;
    private const int SlotGetErrorMessage = 2;
    private const int SlotCreateEnv = 3;
    private const int SlotCreateSession = 7;
    private const int SlotCreateSessionFromArray = 8;
    private const int SlotRun = 9;
    private const int SlotCreateSessionOptions = 10;
    private const int SlotSetSessionExecutionMode = 13;
    private const int SlotSetGraphOptimizationLevel = 23;
    private const int SlotSetIntraOpNumThreads = 24;
    private const int SlotSetInterOpNumThreads = 25;
    private const int SlotSessionGetInputCount = 30;
    private const int SlotSessionGetOutputCount = 31;
    private const int SlotSessionGetInputTypeInfo = 33;
    private const int SlotSessionGetOutputTypeInfo = 34;
    private const int SlotSessionGetInputName = 36;
    private const int SlotSessionGetOutputName = 37;
    private const int SlotCreateTensorWithDataAsOrtValue = 49;
    private const int SlotGetTensorMutableData = 51;
    private const int SlotCastTypeInfoToTensorInfo = 55;
    private const int SlotGetTensorElementType = 60;
    private const int SlotGetDimensionsCount = 61;
    private const int SlotGetDimensions = 62;
    private const int SlotGetTensorTypeAndShape = 65;
    private const int SlotCreateCpuMemoryInfo = 69;
    private const int SlotAllocatorFree = 76;
    private const int SlotGetAllocatorWithDefaultOptions = 78;
    private const int SlotReleaseStatus = 93;
    private const int SlotGetAvailableProviders = 125;
    private const int SlotReleaseAvailableProviders = 126;
    private const int SlotAddSessionConfigEntry = 130;
    private const int SlotAppendExecutionProviderCuda = 152;

    /// <summary>Release slots of the native object kinds wrapped by <see cref="OrtHandle"/>.</summary>
    internal const int SlotReleaseEnv = 92, SlotReleaseMemoryInfo = 94, SlotReleaseSession = 95, SlotReleaseValue = 96,
        SlotReleaseTypeInfo = 98, SlotReleaseTensorTypeAndShapeInfo = 99, SlotReleaseSessionOptions = 100;

    private static readonly Lazy<Runtime> s_runtime = new(Initialize, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The loaded runtime: API table, the one environment of the process, a CPU memory info, the default allocator.</summary>
    private sealed class Runtime
    {
        public required IntPtr* Table;
        public required string Version;
        public required OrtHandle Env;
        public required OrtHandle CpuMemoryInfo;
        public required IntPtr DefaultAllocator;
    }

    private static IntPtr* Table => s_runtime.Value.Table;

    /// <summary>The version string of the loaded runtime (for example "1.30.0").</summary>
    public static string Version => s_runtime.Value.Version;

    /// <summary>The process-wide environment (one per process, never released).</summary>
    public static OrtHandle Env => s_runtime.Value.Env;

    private static Runtime Initialize()
    {
        IntPtr library = NativeLibraryLocator.Load(LibraryName, "ONNX Runtime");
        if (!NativeLibrary.TryGetExport(library, "OrtGetApiBase", out IntPtr getApiBase))
        {
            throw new EntryPointNotFoundException($"'{LibraryName}' has no OrtGetApiBase export; it is not ONNX Runtime. Run '{NativeLibraryLocator.InstallScript}'.");
        }
        // struct OrtApiBase { const OrtApi* (*GetApi)(uint32_t version); const char* (*GetVersionString)(void); }
        IntPtr* apiBase = ((delegate* unmanaged<IntPtr*>)getApiBase)();
        string version = Marshal.PtrToStringUTF8(((delegate* unmanaged<IntPtr>)apiBase[1])()) ?? "?";
        IntPtr* table = ((delegate* unmanaged<uint, IntPtr*>)apiBase[0])(ApiVersion);
        if (table is null)
        {
            throw new NotSupportedException($"ONNX Runtime {version} does not provide C API version {ApiVersion}; this library needs ONNX Runtime 1.30 (run '{NativeLibraryLocator.InstallScript}').");
        }

        IntPtr env;
        byte* logId = stackalloc byte[] { (byte)'u', (byte)'f', (byte)'l', (byte)'o', (byte)'w', 0 };
        const int LoggingLevelError = 3; // warnings from ORT would interleave with the CLI's progress output
        CheckWith(table, ((delegate* unmanaged<int, byte*, IntPtr*, IntPtr>)table[SlotCreateEnv])(LoggingLevelError, logId, &env), "CreateEnv");

        IntPtr memoryInfo;
        const int ArenaAllocator = 1, MemTypeDefault = 0;
        CheckWith(table, ((delegate* unmanaged<int, int, IntPtr*, IntPtr>)table[SlotCreateCpuMemoryInfo])(ArenaAllocator, MemTypeDefault, &memoryInfo), "CreateCpuMemoryInfo");

        IntPtr allocator;
        CheckWith(table, ((delegate* unmanaged<IntPtr*, IntPtr>)table[SlotGetAllocatorWithDefaultOptions])(&allocator), "GetAllocatorWithDefaultOptions");

        return new Runtime
        {
            Table = table,
            Version = version,
            Env = new OrtHandle(env, SlotReleaseEnv, ownsHandle: false), // one per process, lives as long as it
            CpuMemoryInfo = new OrtHandle(memoryInfo, SlotReleaseMemoryInfo, ownsHandle: false),
            DefaultAllocator = allocator,
        };
    }

    /// <summary>Calls the release function at <paramref name="slot"/> on <paramref name="handle"/>.</summary>
    internal static void Release(int slot, IntPtr handle) => ((delegate* unmanaged<IntPtr, void>)Table[slot])(handle);

    /// <summary>Throws an <see cref="OnnxRuntimeException"/> carrying ORT's code and message if <paramref name="status"/> is not null.</summary>
    public static void Check(IntPtr status, string operation) => CheckWith(Table, status, operation);

    private static void CheckWith(IntPtr* table, IntPtr status, string operation)
    {
        if (status == IntPtr.Zero)
        {
            return;
        }
        int code = ((delegate* unmanaged<IntPtr, int>)table[SlotGetErrorCode])(status);
        string message = Marshal.PtrToStringUTF8(((delegate* unmanaged<IntPtr, IntPtr>)table[SlotGetErrorMessage])(status)) ?? "";
        ((delegate* unmanaged<IntPtr, void>)table[SlotReleaseStatus])(status);
        throw new OnnxRuntimeException((OnnxRuntimeErrorCode)code, $"ONNX Runtime {operation} failed ({(OnnxRuntimeErrorCode)code}): {message}");
    }

    // ---- session options ----

    public static OrtHandle CreateSessionOptions()
    {
        IntPtr options;
        Check(((delegate* unmanaged<IntPtr*, IntPtr>)Table[SlotCreateSessionOptions])(&options), "CreateSessionOptions");
        return new OrtHandle(options, SlotReleaseSessionOptions);
    }

    public static void SetSequentialExecution(OrtHandle options)
    {
        const int ExecutionModeSequential = 0;
        Check(((delegate* unmanaged<IntPtr, int, IntPtr>)Table[SlotSetSessionExecutionMode])(options.Pointer, ExecutionModeSequential), "SetSessionExecutionMode");
    }

    public static void SetGraphOptimizationLevel(OrtHandle options, int level) =>
        Check(((delegate* unmanaged<IntPtr, int, IntPtr>)Table[SlotSetGraphOptimizationLevel])(options.Pointer, level), "SetSessionGraphOptimizationLevel");

    public static void SetIntraOpNumThreads(OrtHandle options, int threads) =>
        Check(((delegate* unmanaged<IntPtr, int, IntPtr>)Table[SlotSetIntraOpNumThreads])(options.Pointer, threads), "SetIntraOpNumThreads");

    public static void SetInterOpNumThreads(OrtHandle options, int threads) =>
        Check(((delegate* unmanaged<IntPtr, int, IntPtr>)Table[SlotSetInterOpNumThreads])(options.Pointer, threads), "SetInterOpNumThreads");

    /// <summary>Sets a session configuration entry (keys of onnxruntime_session_options_config_keys.h).</summary>
    public static void AddSessionConfigEntry(OrtHandle options, string key, string value)
    {
        byte[] k = NullTerminatedUtf8(key), v = NullTerminatedUtf8(value);
        fixed (byte* pk = k)
        fixed (byte* pv = v)
        {
            Check(((delegate* unmanaged<IntPtr, byte*, byte*, IntPtr>)Table[SlotAddSessionConfigEntry])(options.Pointer, pk, pv), $"AddSessionConfigEntry({key})");
        }
    }

    /// <summary>OrtCUDAProviderOptions (the legacy struct accepted by slot 152), with ORT's documented defaults.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct CudaProviderOptions
    {
        public int DeviceId;
        public int CudnnConvAlgoSearch;
        public nuint GpuMemLimit;
        public int ArenaExtendStrategy;
        public int DoCopyInDefaultStream;
        public int HasUserComputeStream;
        public IntPtr UserComputeStream;
        public IntPtr DefaultMemoryArenaCfg;
        public int TunableOpEnable;
        public int TunableOpTuningEnable;
        public int TunableOpMaxTuningDurationMs;
    }

    public static void AppendCudaExecutionProvider(OrtHandle options, int deviceId)
    {
        var cuda = new CudaProviderOptions { DeviceId = deviceId, GpuMemLimit = nuint.MaxValue, DoCopyInDefaultStream = 1 };
        Check(((delegate* unmanaged<IntPtr, CudaProviderOptions*, IntPtr>)Table[SlotAppendExecutionProviderCuda])(options.Pointer, &cuda), "SessionOptionsAppendExecutionProvider_CUDA");
    }

    /// <summary>The execution providers compiled into the loaded runtime (not necessarily usable: the npm build lists CUDA without its libraries).</summary>
    public static string[] GetAvailableProviders()
    {
        IntPtr* names;
        int count;
        Check(((delegate* unmanaged<IntPtr**, int*, IntPtr>)Table[SlotGetAvailableProviders])(&names, &count), "GetAvailableProviders");
        try
        {
            var result = new string[count];
            for (int i = 0; i < count; i++) result[i] = Marshal.PtrToStringUTF8(names[i]) ?? "";
            return result;
        }
        finally
        {
            Check(((delegate* unmanaged<IntPtr*, int, IntPtr>)Table[SlotReleaseAvailableProviders])(names, count), "ReleaseAvailableProviders");
        }
    }

    // ---- sessions ----

    public static OrtHandle CreateSession(string modelPath, OrtHandle options)
    {
        byte[] path = NullTerminatedUtf8(modelPath); // on Linux ORTCHAR_T is char: UTF-8
        IntPtr session;
        fixed (byte* p = path)
        {
            Check(((delegate* unmanaged<IntPtr, byte*, IntPtr, IntPtr*, IntPtr>)Table[SlotCreateSession])(Env.Pointer, p, options.Pointer, &session), $"CreateSession('{modelPath}')");
        }
        return new OrtHandle(session, SlotReleaseSession);
    }

    public static OrtHandle CreateSessionFromArray(ReadOnlySpan<byte> model, OrtHandle options)
    {
        IntPtr session;
        fixed (byte* p = model)
        {
            Check(((delegate* unmanaged<IntPtr, byte*, nuint, IntPtr, IntPtr*, IntPtr>)Table[SlotCreateSessionFromArray])(Env.Pointer, p, (nuint)model.Length, options.Pointer, &session), "CreateSessionFromArray");
        }
        return new OrtHandle(session, SlotReleaseSession);
    }

    public static int GetInputCount(OrtHandle session) => GetCount(session, SlotSessionGetInputCount, "SessionGetInputCount");

    public static int GetOutputCount(OrtHandle session) => GetCount(session, SlotSessionGetOutputCount, "SessionGetOutputCount");

    private static int GetCount(OrtHandle session, int slot, string operation)
    {
        nuint count;
        Check(((delegate* unmanaged<IntPtr, nuint*, IntPtr>)Table[slot])(session.Pointer, &count), operation);
        return checked((int)count);
    }

    public static string GetInputName(OrtHandle session, int index) => GetName(session, index, SlotSessionGetInputName, "SessionGetInputName");

    public static string GetOutputName(OrtHandle session, int index) => GetName(session, index, SlotSessionGetOutputName, "SessionGetOutputName");

    private static string GetName(OrtHandle session, int index, int slot, string operation)
    {
        IntPtr allocator = s_runtime.Value.DefaultAllocator;
        IntPtr name;
        Check(((delegate* unmanaged<IntPtr, nuint, IntPtr, IntPtr*, IntPtr>)Table[slot])(session.Pointer, (nuint)index, allocator, &name), operation);
        try
        {
            return Marshal.PtrToStringUTF8(name) ?? "";
        }
        finally
        {
            Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr>)Table[SlotAllocatorFree])(allocator, name), "AllocatorFree");
        }
    }

    /// <summary>Element type and dimensions (-1 = dynamic) of input or output <paramref name="index"/>; element type -1 when it is not a tensor.</summary>
    public static (int ElementType, long[] Dimensions) GetInputTensorInfo(OrtHandle session, int index) =>
        GetTypeInfo(session, index, SlotSessionGetInputTypeInfo, "SessionGetInputTypeInfo");

    /// <inheritdoc cref="GetInputTensorInfo"/>
    public static (int ElementType, long[] Dimensions) GetOutputTensorInfo(OrtHandle session, int index) =>
        GetTypeInfo(session, index, SlotSessionGetOutputTypeInfo, "SessionGetOutputTypeInfo");

    private static (int, long[]) GetTypeInfo(OrtHandle session, int index, int slot, string operation)
    {
        IntPtr typeInfo;
        Check(((delegate* unmanaged<IntPtr, nuint, IntPtr*, IntPtr>)Table[slot])(session.Pointer, (nuint)index, &typeInfo), operation);
        using var owned = new OrtHandle(typeInfo, SlotReleaseTypeInfo);
        IntPtr tensorInfo; // not owned: belongs to typeInfo
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)Table[SlotCastTypeInfoToTensorInfo])(typeInfo, &tensorInfo), "CastTypeInfoToTensorInfo");
        if (tensorInfo == IntPtr.Zero)
        {
            return (-1, []);
        }
        return ReadTensorInfo(tensorInfo);
    }

    private static (int, long[]) ReadTensorInfo(IntPtr tensorInfo)
    {
        int elementType;
        Check(((delegate* unmanaged<IntPtr, int*, IntPtr>)Table[SlotGetTensorElementType])(tensorInfo, &elementType), "GetTensorElementType");
        nuint rank;
        Check(((delegate* unmanaged<IntPtr, nuint*, IntPtr>)Table[SlotGetDimensionsCount])(tensorInfo, &rank), "GetDimensionsCount");
        var dims = new long[(int)rank];
        fixed (long* d = dims)
        {
            Check(((delegate* unmanaged<IntPtr, long*, nuint, IntPtr>)Table[SlotGetDimensions])(tensorInfo, d, rank), "GetDimensions");
        }
        return (elementType, dims);
    }

    // ---- values and running ----

    /// <summary>Wraps a caller-owned float buffer as a tensor value; the buffer must stay pinned until the value is released.</summary>
    public static OrtHandle CreateTensorOverBuffer(float* data, long elementCount, ReadOnlySpan<long> shape)
    {
        IntPtr value;
        fixed (long* s = shape)
        {
            Check(((delegate* unmanaged<IntPtr, void*, nuint, long*, nuint, int, IntPtr*, IntPtr>)Table[SlotCreateTensorWithDataAsOrtValue])(
                s_runtime.Value.CpuMemoryInfo.Pointer, data, (nuint)(elementCount * sizeof(float)), s, (nuint)shape.Length, ElementTypeFloat, &value), "CreateTensorWithDataAsOrtValue");
        }
        return new OrtHandle(value, SlotReleaseValue);
    }

    /// <summary>
    /// Runs the session on one input; <paramref name="outputs"/> receives one ORT-allocated value per output name
    /// (the caller releases them with <see cref="OrtHandle"/>).
    /// </summary>
    public static void Run(OrtHandle session, ReadOnlySpan<byte> inputNameUtf8z, OrtHandle input, byte[][] outputNamesUtf8z, Span<IntPtr> outputs)
    {
        int count = outputNamesUtf8z.Length;
        var pins = new GCHandle[count];
        byte** names = stackalloc byte*[count];
        try
        {
            for (int i = 0; i < count; i++)
            {
                pins[i] = GCHandle.Alloc(outputNamesUtf8z[i], GCHandleType.Pinned);
                names[i] = (byte*)pins[i].AddrOfPinnedObject();
            }
            IntPtr inputValue = input.Pointer;
            fixed (byte* inputName = inputNameUtf8z)
            fixed (IntPtr* outs = outputs)
            {
                Check(((delegate* unmanaged<IntPtr, IntPtr, byte**, IntPtr*, nuint, byte**, nuint, IntPtr*, IntPtr>)Table[SlotRun])(
                    session.Pointer, IntPtr.Zero, &inputName, &inputValue, 1, names, (nuint)count, outs), "Run");
            }
        }
        finally
        {
            foreach (GCHandle pin in pins)
            {
                if (pin.IsAllocated) pin.Free();
            }
        }
    }

    /// <summary>Element type, dimensions and data pointer of a tensor value.</summary>
    public static (int ElementType, long[] Dimensions, IntPtr Data) GetTensor(IntPtr value)
    {
        IntPtr info;
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)Table[SlotGetTensorTypeAndShape])(value, &info), "GetTensorTypeAndShape");
        (int type, long[] dims) result;
        using (new OrtHandle(info, SlotReleaseTensorTypeAndShapeInfo))
        {
            result = ReadTensorInfo(info);
        }
        void* data;
        Check(((delegate* unmanaged<IntPtr, void**, IntPtr>)Table[SlotGetTensorMutableData])(value, &data), "GetTensorMutableData");
        return (result.type, result.dims, (IntPtr)data);
    }

    /// <summary>UTF-8 bytes of <paramref name="text"/> followed by a terminating zero.</summary>
    public static byte[] NullTerminatedUtf8(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}
