using System.Runtime.InteropServices;
using HostTensor = Microsoft.ML.UFlow.Tensors.Tensor;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>Copies float32 data between managed arrays (or host tensors) and TorchSharp tensors.</summary>
internal static class HostTensorCopy
{
    /// <summary>A new float32 tensor of <paramref name="shape"/> on <paramref name="device"/> holding <paramref name="values"/>.</summary>
    public static Tensor ToTorch(ReadOnlySpan<float> values, ReadOnlySpan<long> shape, Device device)
    {
        long count = 1;
        foreach (long d in shape) count *= d;
        if (count != values.Length) throw new ArgumentException($"Shape [{string.Join(", ", shape.ToArray())}] holds {count} values, got {values.Length}.", nameof(values));
        Tensor cpu = empty(shape, ScalarType.Float32, CPU);
        values.CopyTo(MemoryMarshal.Cast<byte, float>(cpu.bytes));
        if (device.type == DeviceType.CPU) return cpu;
        using (cpu) return cpu.to(device);
    }

    /// <summary>A new float32 tensor on <paramref name="device"/> with the shape and values of a host tensor.</summary>
    public static Tensor ToTorch(HostTensor host, Device device)
    {
        ArgumentNullException.ThrowIfNull(host);
        long[] shape = new long[host.Rank];
        for (int i = 0; i < shape.Length; i++) shape[i] = host.Shape[i];
        return ToTorch(host.Span, shape, device);
    }

    /// <summary>The values of <paramref name="tensor"/> (any device, any layout) as float32, row-major.</summary>
    public static float[] ToArray(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = NewDisposeScope();
        Tensor cpu = tensor.detach().to(ScalarType.Float32).cpu().contiguous();
        return MemoryMarshal.Cast<byte, float>(cpu.bytes).ToArray();
    }

    /// <summary>A host tensor with the shape and values of <paramref name="tensor"/>.</summary>
    public static HostTensor ToHost(Tensor tensor) => new(ToArray(tensor), tensor.shape.Select(d => checked((int)d)).ToArray());
}
