using System.Runtime.InteropServices;

namespace Microsoft.ML.UFlow.Features.Onnx;

/// <summary>
/// A native ONNX Runtime object (session, session options, value, type info, ...) released through the API slot of its
/// kind when disposed or finalised.
/// </summary>
internal sealed class OrtHandle : SafeHandle
{
    private readonly int _releaseSlot;

    /// <summary>Wraps <paramref name="pointer"/>, released with the API function at <paramref name="releaseSlot"/>.</summary>
    public OrtHandle(IntPtr pointer, int releaseSlot, bool ownsHandle = true)
        : base(IntPtr.Zero, ownsHandle)
    {
        _releaseSlot = releaseSlot;
        SetHandle(pointer);
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>The native pointer (valid while this handle is alive and not disposed).</summary>
    public IntPtr Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return handle;
        }
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        OrtApi.Release(_releaseSlot, handle);
        return true;
    }
}
