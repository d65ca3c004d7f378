using Microsoft.ML.UFlow.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// <see cref="HeldScalarAdam"/> is TorchSharp's Adam (PyTorch's single-tensor Adam) bit for bit, with held scalars:
/// with CS-Flow's and U-Flow's coefficients, with a learning rate changed between steps as U-Flow's schedule does, and
/// after its state went through <see cref="HeldScalarAdam.WriteState"/> / <see cref="HeldScalarAdam.ReadState"/>.
/// </summary>
public sealed class HeldScalarAdamTests
{
    [Theory]
    [InlineData(1e-4, 1e-2)] // CS-Flow's ε, a large weight decay
    [InlineData(1e-8, 1e-5)] // U-Flow's
    public void Steps_equal_TorchSharps_Adam_bit_for_bit_also_when_the_learning_rate_changes(double eps, double weightDecay)
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(3);
        Tensor[] start = [torch.randn([4, 3, 3, 3], generator: generator), torch.randn([5], generator: generator)];
        Tensor[][] grads = Enumerable.Range(0, 4).Select(_ => start.Select(s => torch.randn(s.shape, generator: generator)).ToArray()).ToArray();
        Parameter[] ours = start.Select(s => new Parameter(s.clone())).ToArray();
        Parameter[] theirs = start.Select(s => new Parameter(s.clone())).ToArray();
        using var adam = new HeldScalarAdam(ours, 2e-3, 0.9, 0.999, eps, weightDecay);
        using var reference = torch.optim.Adam(theirs, lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: eps, weight_decay: weightDecay);
        for (int step = 0; step < grads.Length; step++)
        {
            if (step == 2)
            {
                adam.LearningRate = 1.5e-3;
                foreach (var group in reference.ParamGroups) group.LearningRate = 1.5e-3;
            }
            for (int i = 0; i < start.Length; i++)
            {
                ours[i].grad = grads[step][i].clone();
                theirs[i].grad = grads[step][i].clone();
            }
            adam.Step();
            reference.step();
        }
        Assert.Equal(4, adam.StepCount);
        for (int i = 0; i < start.Length; i++)
        {
            Assert.Equal(theirs[i].data<float>().ToArray(), ours[i].data<float>().ToArray());
            Assert.NotEqual(start[i].data<float>().ToArray(), ours[i].data<float>().ToArray());
        }
    }

    [Fact]
    public void A_state_written_and_read_back_continues_bit_for_bit()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(5);
        Tensor[] start = [torch.randn([3, 2], generator: generator), torch.randn([4], generator: generator)];
        Tensor[][] grads = Enumerable.Range(0, 3).Select(_ => start.Select(s => torch.randn(s.shape, generator: generator)).ToArray()).ToArray();
        string[] names = ["a.weight", "b.bias"];
        Parameter[] straight = start.Select(s => new Parameter(s.clone())).ToArray();
        using var straightAdam = new HeldScalarAdam(straight, 1e-2, 0.9, 0.999, 1e-8, 1e-5);
        Parameter[] first = start.Select(s => new Parameter(s.clone())).ToArray();
        using var firstAdam = new HeldScalarAdam(first, 1e-2, 0.9, 0.999, 1e-8, 1e-5);
        void Step(Parameter[] p, HeldScalarAdam a, int step)
        {
            for (int i = 0; i < p.Length; i++) p[i].grad = grads[step][i].clone();
            a.Step();
        }
        for (int step = 0; step < 3; step++) Step(straight, straightAdam, step);
        for (int step = 0; step < 2; step++) Step(first, firstAdam, step);

        var bytes = new MemoryStream();
        using (var writer = new BinaryWriter(bytes, System.Text.Encoding.UTF8, leaveOpen: true)) firstAdam.WriteState(writer, names);
        Parameter[] resumed = first.Select(p => new Parameter(p.detach().clone())).ToArray();
        using var resumedAdam = new HeldScalarAdam(resumed, 1e-2, 0.9, 0.999, 1e-8, 1e-5);
        bytes.Position = 0;
        using (var reader = new FlowBinaryReader(bytes, why => new InvalidDataException(why))) resumedAdam.ReadState(reader, names);
        Assert.Equal(2, resumedAdam.StepCount);
        Step(resumed, resumedAdam, 2);
        for (int i = 0; i < start.Length; i++) Assert.Equal(straight[i].data<float>().ToArray(), resumed[i].data<float>().ToArray());

        bytes.Position = 0;
        using var other = new FlowBinaryReader(bytes, why => new InvalidDataException(why));
        Assert.Contains("'a.weight' belongs to no parameter", Assert.Throws<InvalidDataException>(() => resumedAdam.ReadState(other, ["x", "b.bias"])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => resumedAdam.LearningRate = double.NaN);
    }
}
