using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// FrEIA's <c>IRevNetUpsampling</c> (METHOD.md A.3.2) applied <see cref="Doublings"/> times: each doubling turns 4K
/// channels at H×W into K channels at 2H×2W with PixelShuffle(2) ordering,
/// out[k, 2i + dy, 2j + dx] = in[4k + 2·dy + dx, i, j]. A re-indexing: log-det 0, no parameters.
/// </summary>
internal sealed class InvertibleUpsamplingModule : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the upsampling by 2^<paramref name="doublings"/>.</summary>
    public InvertibleUpsamplingModule(int doublings, string name = "InvertibleUpsampling")
        : base(name)
    {
        if (doublings < 1) throw new ArgumentOutOfRangeException(nameof(doublings), doublings, "At least one 2× upsampling.");
        Doublings = doublings;
        RegisterComponents();
    }

    /// <summary>How many 2× upsamplings (1 for adjacent scales).</summary>
    public int Doublings { get; }

    /// <summary>N×4^d·K×H×W → N×K×2^d·H×2^d·W.</summary>
    public override Tensor forward(Tensor input)
    {
        if (input.ndim != 4 || input.shape[1] % (1L << (2 * Doublings)) != 0)
            throw new ArgumentException($"Invertible upsampling by 2^{Doublings} needs N×C×H×W input with C a multiple of {1L << (2 * Doublings)}; got [{string.Join(", ", input.shape)}].", nameof(input));
        using var scope = NewDisposeScope();
        Tensor x = input;
        for (int i = 0; i < Doublings; i++) x = nn.functional.pixel_shuffle(x, 2);
        return scope.MoveToOuter(x);
    }

    /// <summary>The inverse (PixelUnshuffle(2), <see cref="Doublings"/> times).</summary>
    public Tensor inverse(Tensor output)
    {
        using var scope = NewDisposeScope();
        Tensor x = output;
        for (int i = 0; i < Doublings; i++) x = nn.functional.pixel_unshuffle(x, 2);
        return scope.MoveToOuter(x);
    }
}
