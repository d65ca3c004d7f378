using Microsoft.ML.UFlow.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Tests.Training.CsFlow;

/// <summary><see cref="CsFlowAdam"/> is TorchSharp's Adam (PyTorch's single-tensor Adam) bit for bit, with held scalars.</summary>
public sealed class CsFlowAdamTests
{
    [Fact]
    public void Three_steps_equal_TorchSharps_Adam_bit_for_bit_with_weight_decay()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(3);
        Tensor[] start = [torch.randn([4, 3, 3, 3], generator: generator), torch.randn([5], generator: generator)];
        Tensor[][] grads = Enumerable.Range(0, 3).Select(_ => start.Select(s => torch.randn(s.shape, generator: generator)).ToArray()).ToArray();
        Parameter[] ours = start.Select(s => new Parameter(s.clone())).ToArray();
        Parameter[] theirs = start.Select(s => new Parameter(s.clone())).ToArray();
        using var adam = new CsFlowAdam(ours, 2e-3, 0.9, 0.999, 1e-4, 1e-2);
        using var reference = torch.optim.Adam(theirs, lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-4, weight_decay: 1e-2);
        for (int step = 0; step < 3; step++)
        {
            for (int i = 0; i < start.Length; i++)
            {
                ours[i].grad = grads[step][i].clone();
                theirs[i].grad = grads[step][i].clone();
            }
            adam.Step();
            reference.step();
        }
        Assert.Equal(3, adam.StepCount);
        for (int i = 0; i < start.Length; i++)
        {
            Assert.Equal(theirs[i].data<float>().ToArray(), ours[i].data<float>().ToArray());
            Assert.NotEqual(start[i].data<float>().ToArray(), ours[i].data<float>().ToArray());
        }
    }
}
