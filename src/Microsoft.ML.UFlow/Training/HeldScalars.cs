using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Scalar operands that live for the whole process, and tensor sums that use them. TorchSharp 0.107 converts numbers
/// to <see cref="Scalar"/>s implicitly, also inside its own overloads (<c>a + b</c> is <c>a.add(b, 1)</c>), and leaves
/// them to the finalizer, which can free one while libtorch still reads it (dotnet/TorchSharp#1434; seen here as
/// "Unknown scalar type"). The flow's code passes only scalars that something holds: these, module fields, or
/// <c>using</c> locals.
/// </summary>
internal static class HeldScalars
{
    /// <summary>The integer 1 (the alpha of a plain sum, as TorchSharp's own <c>add(Tensor)</c> passes it).</summary>
    public static readonly Scalar One = 1L;

    /// <summary>a + b, element-wise.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);
}
