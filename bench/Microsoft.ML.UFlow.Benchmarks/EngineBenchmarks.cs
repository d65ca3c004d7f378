using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Optim;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Benchmarks;

/// <summary>
/// Engine kernel micro-benchmarks: the GEMM micro-kernel on L1-resident panels (peak check), full GEMMs, one conv
/// layer shape forward/backward, and an Adam step. Run:
/// <c>dotnet run -c Release --project bench/Microsoft.ML.UFlow.Benchmarks -- --filter '*Engine*'</c>.
/// </summary>
[MemoryDiagnoser]
public unsafe class EngineMicroKernelBenchmarks
{
    private const int Kc = 256;
    private float* _a, _b, _c;
    private GemmKernel _kernel;

    /// <summary>Micro-kernel name.</summary>
    [Params("avx512", "avx2", "scalar")]
    public string Kernel { get; set; } = "avx512";

    [GlobalSetup]
    public void Setup()
    {
        _kernel = GemmKernel.Supported().FirstOrDefault(k => k.Name == Kernel);
        if (_kernel.Name is null) throw new NotSupportedException($"Kernel {Kernel} is not supported on this processor.");
        _a = (float*)NativeMemory.AlignedAlloc(Kc * 16 * sizeof(float), 64);
        _b = (float*)NativeMemory.AlignedAlloc(Kc * 32 * sizeof(float), 64);
        _c = (float*)NativeMemory.AlignedAlloc(16 * 32 * sizeof(float), 64);
        new Span<float>(_a, Kc * 16).Fill(1e-3f);
        new Span<float>(_b, Kc * 32).Fill(1e-3f);
        new Span<float>(_c, 16 * 32).Clear();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_a);
        NativeMemory.AlignedFree(_b);
        NativeMemory.AlignedFree(_c);
    }

    /// <summary>100 tile updates of kc = 256 (2·MR·NR·kc·100 FLOP).</summary>
    [Benchmark(OperationsPerInvoke = 100)]
    public void TileUpdate()
    {
        var f = _kernel.Function;
        for (int i = 0; i < 100; i++) f(Kc, _a, _b, _c, _kernel.NR);
    }
}

/// <summary>Whole GEMMs and conv layers on engine threads = all processors.</summary>
[MemoryDiagnoser]
public class EngineLayerBenchmarks
{
    private float[] _a = [], _b = [], _c = [];
    private Conv2d _conv = null!;
    private Tensor _x = null!, _dy = null!;
    private Adam _adam = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new SeededRandom(1);
        _a = new float[408 * 3672];
        _b = new float[3672 * 784];
        _c = new float[408 * 784];
        PyTorchInit.Uniform(_a, -1, 1, random);
        PyTorchInit.Uniform(_b, -1, 1, random);
        _conv = new Conv2d(408, 408, 3, random);
        _x = new Tensor(4, 408, 28, 28);
        _dy = new Tensor(4, 408, 28, 28);
        PyTorchInit.Uniform(_x.Span, -1, 1, random);
        PyTorchInit.Uniform(_dy.Span, -1, 1, random);
        _adam = new Adam(_conv.Parameters);
        _conv.Forward(_x);
    }

    /// <summary>GEMM with the shape of the 3×3 408→408 conv on one 28×28 sample (M=408, N=784, K=3672).</summary>
    [Benchmark]
    public void Gemm408x784x3672() => Gemm.Multiply(_a, _b, _c, 408, 784, 3672);

    /// <summary>3×3 conv 408→408 @28×28, batch 4, forward.</summary>
    [Benchmark]
    public Tensor Conv3x3Forward() => _conv.Forward(_x);

    /// <summary>Same layer, backward (input, weight and bias gradients) of the last forward.</summary>
    [Benchmark]
    public Tensor Conv3x3Backward() => _conv.Backward(_dy);

    /// <summary>One Adam step over the layer's 1.5 M parameters.</summary>
    [Benchmark]
    public void AdamStep() => _adam.Step();
}
