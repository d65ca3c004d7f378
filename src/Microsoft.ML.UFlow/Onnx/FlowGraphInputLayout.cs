namespace Microsoft.ML.UFlow.Onnx;

/// <summary>How an exported flow graph takes its feature maps.</summary>
public enum FlowGraphInputLayout
{
    /// <summary>
    /// One input (default name <c>Features</c>), float32 [N, total]: each scale's [C, H, W] map flattened row-major and
    /// the scales concatenated finest first, the layout of one ML.NET vector column. The graph reshapes it to each
    /// scale's [N, C, H, W].
    /// </summary>
    Concatenated,

    /// <summary>One input per scale (default names <c>Features0</c>, <c>Features1</c>, …, finest first), float32 [N, C, H, W].</summary>
    PerScale,
}
