using Microsoft.ML.UFlow.Training;
using TorchSharp;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// TorchSharp must load from the test output folder on this machine (Debian 12: only after the build's GLIBCXX fix)
/// and run a convolution forward and backward; devices that are not there fail at once with the package to add.
/// </summary>
public sealed class TorchRuntimeTests
{
    [Fact]
    public void Libtorch_loads_and_runs_a_convolution_backward_on_the_cpu()
    {
        torch.Device device = TorchRuntime.Resolve("cpu");
        using var scope = torch.NewDisposeScope();
        float[] input = Enumerable.Range(0, 2 * 3 * 5 * 5).Select(i => MathF.Sin(i)).ToArray();
        var x = torch.tensor(input, new long[] { 2, 3, 5, 5 }, device: device);
        var w = torch.ones(4, 3, 3, 3, device: device).requires_grad_(true);
        var y = torch.nn.functional.conv2d(x, w);
        y.sum().backward();
        Assert.Equal(new long[] { 2, 4, 3, 3 }, y.shape);
        // d(sum y)/dw[o, c, i, j] = sum over images n and output positions (p, q) of x[n, c, p + i, q + j].
        float[] grad = w.grad!.cpu().data<float>().ToArray();
        for (int o = 0; o < 4; o++)
        for (int c = 0; c < 3; c++)
        for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
        {
            double expected = 0;
            for (int n = 0; n < 2; n++)
            for (int p = 0; p < 3; p++)
            for (int q = 0; q < 3; q++)
                expected += input[((n * 3 + c) * 5 + p + i) * 5 + q + j];
            Assert.Equal(expected, grad[((o * 3 + c) * 3 + i) * 3 + j], 4);
        }
    }

    [Fact]
    public void The_output_copy_of_LibTorchSharp_is_usable_on_this_system()
    {
        // On a system whose libstdc++ lacks GLIBCXX_3.4.32 the build must have marked the requirement weak; either way
        // libtorch has loaded (the previous test) and the native library is the output folder's own copy.
        string native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!OperatingSystem.IsLinux()) return;
        Assert.True(File.Exists(native), $"expected TorchSharp's native library at {native}");
        TorchRuntime.EnsureLoaded();
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("cuda:1")]
    public void A_cuda_device_with_the_cpu_backend_names_the_package_to_reference(string device)
    {
        if (torch.cuda.is_available()) return; // a GPU machine with a CUDA backend: nothing to refuse
        var e = Assert.Throws<InvalidOperationException>(() => TorchRuntime.Resolve(device));
        Assert.Contains("TorchSharp-cuda-linux", e.Message);
        Assert.Contains(device, e.Message);
    }

    [Fact]
    public void An_unknown_device_name_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => TorchRuntime.Resolve("tpu"));
        Assert.Contains("'tpu'", e.Message);
    }
}
