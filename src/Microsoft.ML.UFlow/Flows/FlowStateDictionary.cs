using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Onnx;

namespace Microsoft.ML.UFlow.Flows;

/// <summary>
/// The state dictionaries of the managed engine's flows, in the names the ONNX exporters read: every parameter under
/// its own name, plus the fixed permutations as float indices (<c>stage{l}.step{s}.perm</c> for U-Flow,
/// <c>block{k}.perm{s}</c> for CS-Flow, with out[:, c] = in[:, perm[c]]). Values are copies.
/// </summary>
internal static class FlowStateDictionary
{
    /// <summary>The state dictionary of a U-shaped flow.</summary>
    public static Dictionary<string, StateTensor> Of(UShapedFlow flow)
    {
        ArgumentNullException.ThrowIfNull(flow);
        var state = Parameters(flow.Parameters);
        for (int l = 0; l < flow.ScaleCount; l++)
        {
            foreach (FlowStep step in flow.Stage(l)) state.Add(step.Name + ".perm", Permutation(step.Permutation));
        }
        return state;
    }

    /// <summary>The state dictionary of a CS-Flow network.</summary>
    public static Dictionary<string, StateTensor> Of(CsFlowNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var state = Parameters(network.Parameters);
        for (int k = 0; k < network.BlockCount; k++)
        {
            for (int s = 0; s < 3; s++) state.Add($"block{k}.perm{s}", Permutation(network.Permute(k).Permutation(s)));
        }
        return state;
    }

    private static Dictionary<string, StateTensor> Parameters(IEnumerable<Parameter> parameters)
    {
        var state = new Dictionary<string, StateTensor>(StringComparer.Ordinal);
        foreach (Parameter p in parameters) state.Add(p.Name, new StateTensor(p.Value.Shape.ToArray(), p.Value.Span.ToArray()));
        return state;
    }

    private static StateTensor Permutation(ReadOnlySpan<int> permutation)
    {
        var values = new float[permutation.Length];
        for (int i = 0; i < values.Length; i++) values[i] = permutation[i];
        return new StateTensor([values.Length], values);
    }
}
