namespace Microsoft.ML.UFlow.Flows;

/// <summary>The shape of one feature scale fed to the U-shaped flow: channels and spatial size of one sample.</summary>
/// <param name="Channels">Feature channels C.</param>
/// <param name="Height">Feature map height H.</param>
/// <param name="Width">Feature map width W.</param>
public readonly record struct FlowScale(int Channels, int Height, int Width)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Channels}@{Height}x{Width}";
}
