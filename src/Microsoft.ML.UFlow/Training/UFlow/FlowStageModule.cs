using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// One scale's flow stage (METHOD.md A.3.1): consecutive <see cref="FlowStepModule"/>s registered as
/// <c>step0</c>, <c>step1</c>, … with kernels 3, 1, 3, 1, …; returns the output and the summed per-sample log-det.
/// </summary>
internal sealed class FlowStageModule : nn.Module<Tensor, (Tensor Output, Tensor LogDet)>
{
    private readonly FlowStepModule[] _steps;

    /// <summary>Wraps <paramref name="steps"/> (owned from now on) in order.</summary>
    public FlowStageModule(IReadOnlyList<FlowStepModule> steps, string name = "FlowStage")
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Count == 0) throw new ArgumentException("A flow stage needs at least one step.", nameof(steps));
        _steps = steps.ToArray();
        for (int s = 0; s < _steps.Length; s++) register_module($"step{s}", _steps[s]);
        RegisterComponents();
    }

    /// <summary>The steps, in the order they run.</summary>
    public IReadOnlyList<FlowStepModule> Steps => _steps;

    /// <summary>Runs every step; returns the output and Σ_steps log|det J| per sample.</summary>
    public override (Tensor Output, Tensor LogDet) forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        (Tensor h, Tensor logDet) = _steps[0].call(x);
        for (int s = 1; s < _steps.Length; s++)
        {
            (h, Tensor stepLogDet) = _steps[s].call(h);
            logDet = logDet.Plus(stepLogDet);
        }
        return scope.MoveToOuter(h, logDet);
    }

    /// <summary>The inverse: runs the steps' inverses last to first; returns the input and the forward log-det.</summary>
    public (Tensor Input, Tensor LogDet) inverse(Tensor y)
    {
        using var scope = NewDisposeScope();
        (Tensor x, Tensor logDet) = _steps[^1].inverse(y);
        for (int s = _steps.Length - 2; s >= 0; s--)
        {
            (x, Tensor stepLogDet) = _steps[s].inverse(x);
            logDet = logDet.Plus(stepLogDet);
        }
        return scope.MoveToOuter(x, logDet);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (FlowStepModule step in _steps) step.Dispose();
        }
        base.Dispose(disposing);
    }
}
