using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows;

/// <summary>The result of a U-shaped flow's forward pass (tensors owned by the flow, valid until its next Forward).</summary>
/// <param name="Latents">z_l for every scale, finest first, each N×C_l×H_l×W_l.</param>
/// <param name="LogDet">Per-sample log|det J| summed over every flow step, length N.</param>
public readonly record struct FlowOutput(IReadOnlyList<Tensor> Latents, Tensor LogDet);
