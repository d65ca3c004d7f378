namespace Microsoft.ML.UFlow;

/// <summary>One square tile of an image: its top-left corner and side in pixels.</summary>
/// <param name="X">The left column.</param>
/// <param name="Y">The top row.</param>
/// <param name="Size">The side.</param>
public readonly record struct ImageTile(int X, int Y, int Size);
