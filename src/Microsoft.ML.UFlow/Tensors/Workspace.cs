using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Microsoft.ML.UFlow.Tensors;

/// <summary>
/// 64-byte aligned native scratch buffers, grown on demand and reused across calls, so that the kernels allocate
/// nothing in steady state. A call rents a whole workspace (one per concurrent engine call) and returns it.
/// </summary>
internal sealed unsafe class Workspace
{
    private static readonly ConcurrentBag<Workspace> s_pool = new();

    private readonly Dictionary<int, (nint Pointer, long Bytes)> _buffers = new();

    /// <summary>Rents a workspace; return it with <see cref="Return"/>.</summary>
    public static Workspace Rent() => s_pool.TryTake(out Workspace? w) ? w : new Workspace();

    /// <summary>Gives a rented workspace back for reuse.</summary>
    public static void Return(Workspace workspace) => s_pool.Add(workspace);

    /// <summary>A buffer of at least <paramref name="count"/> floats for (slot, worker); contents unspecified.</summary>
    public float* Floats(int slot, int worker, long count) => (float*)Bytes(slot * 64 + worker, count * sizeof(float));

    /// <summary>A buffer of at least <paramref name="count"/> ints for (slot, worker); contents unspecified.</summary>
    public int* Ints(int slot, int worker, long count) => (int*)Bytes(slot * 64 + worker, count * sizeof(int));

    private void* Bytes(int key, long bytes)
    {
        bytes = Math.Max(bytes, 64);
        lock (_buffers)
        {
            if (_buffers.TryGetValue(key, out var b) && b.Bytes >= bytes) return (void*)b.Pointer;
            if (b.Pointer != 0) NativeMemory.AlignedFree((void*)b.Pointer);
            // Grow by a quarter so that slowly growing requests do not reallocate every time.
            long size = Math.Max(bytes, b.Bytes + b.Bytes / 4);
            void* p = NativeMemory.AlignedAlloc((nuint)size, 64);
            _buffers[key] = ((nint)p, size);
            return p;
        }
    }

    ~Workspace()
    {
        foreach (var b in _buffers.Values) NativeMemory.AlignedFree((void*)b.Pointer);
    }
}
