using System.Globalization;
using System.Text.Json;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Optim;

namespace Microsoft.ML.UFlow.Tests.Optim;

/// <summary>Adam and gradient clipping against PyTorch 1.13 (fixture from test/golden/engine_adam.py).</summary>
public sealed class AdamTests
{
    private static JsonElement Fixture()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Engine", "adam.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement;
    }

    private static float[] Floats(JsonElement hexBits) =>
        hexBits.EnumerateArray().Select(e => BitConverter.UInt32BitsToSingle(uint.Parse(e.GetString()!, NumberStyles.HexNumber, CultureInfo.InvariantCulture))).ToArray();

    [Fact]
    public void StepsAreBitIdenticalToPyTorchGivenTheSameGradients()
    {
        foreach (JsonElement c in Fixture().GetProperty("cases").EnumerateArray())
        {
            Parameter[] ps = c.GetProperty("init").EnumerateArray().Select((init, i) =>
            {
                float[] values = Floats(init);
                var p = new Parameter("p" + i, values.Length);
                values.CopyTo(p.Value.Span);
                return p;
            }).ToArray();
            var adam = new Adam(ps, new AdamOptions { LearningRate = c.GetProperty("lr").GetDouble(), Epsilon = c.GetProperty("eps").GetDouble(), WeightDecay = c.GetProperty("weight_decay").GetDouble() });
            int step = 0;
            foreach (JsonElement s in c.GetProperty("steps").EnumerateArray())
            {
                step++;
                // Feed PyTorch's clipped gradients so that this checks the Adam arithmetic alone.
                JsonElement[] clipped = s.GetProperty("clipped").EnumerateArray().ToArray();
                for (int i = 0; i < ps.Length; i++) Floats(clipped[i]).CopyTo(ps[i].Grad.Span);
                adam.Step();
                JsonElement[] expected = s.GetProperty("params").EnumerateArray().ToArray();
                for (int i = 0; i < ps.Length; i++)
                {
                    float[] e = Floats(expected[i]);
                    for (int j = 0; j < e.Length; j++)
                    {
                        Assert.True(e[j] == ps[i].Value.Span[j], $"lr={c.GetProperty("lr")}: step {step}, parameter {i}[{j}] is {ps[i].Value.Span[j]:R}, PyTorch has {e[j]:R}");
                    }
                }
            }
        }
    }

    [Fact]
    public void ClipGradNormMatchesPyTorch()
    {
        foreach (JsonElement c in Fixture().GetProperty("cases").EnumerateArray())
        {
            foreach (JsonElement s in c.GetProperty("steps").EnumerateArray())
            {
                JsonElement[] grads = s.GetProperty("grads").EnumerateArray().ToArray(), clipped = s.GetProperty("clipped").EnumerateArray().ToArray();
                Parameter[] ps = grads.Select((g, i) =>
                {
                    float[] values = Floats(g);
                    var p = new Parameter("p" + i, values.Length);
                    values.CopyTo(p.Grad.Span);
                    return p;
                }).ToArray();
                double norm = GradientClipping.ClipGradNorm(ps, 1.5);
                double expectedNorm = s.GetProperty("norm").GetDouble();
                Assert.True(Math.Abs(norm - expectedNorm) <= 1e-6 * expectedNorm, $"norm {norm} vs PyTorch {expectedNorm}");
                for (int i = 0; i < ps.Length; i++)
                {
                    float[] e = Floats(clipped[i]);
                    // Float32 norms summed in a different order: a few ulps.
                    for (int j = 0; j < e.Length; j++) Assert.True(Math.Abs(e[j] - ps[i].Grad.Span[j]) <= 1e-6 * Math.Abs(e[j]) + 1e-12, $"clipped gradient {i}[{j}]: {ps[i].Grad.Span[j]} vs {e[j]}");
                }
            }
        }
    }

    [Fact]
    public void ClipGradNormLeavesSmallGradientsAndRejectsNegativeMaximum()
    {
        var p = new Parameter("p", 3);
        float[] g = [0.1f, -0.2f, 0.2f];
        g.CopyTo(p.Grad.Span);
        Assert.Equal(0.3, GradientClipping.ClipGradNorm([p], 1.0), 6);
        Assert.Equal(g, p.Grad.Span.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipGradNorm([p], -1));
    }

    [Fact]
    public void StepAllocatesNothing()
    {
        var p = new Parameter("p", 1000);
        var adam = new Adam([p]);
        p.Grad.Span.Fill(0.5f);
        adam.Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) adam.Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
