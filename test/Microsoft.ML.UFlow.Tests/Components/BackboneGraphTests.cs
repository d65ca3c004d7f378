using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>
/// The prepared backbone (ImageNet normalisation folded in, chosen outputs concatenated) against the backbone's own
/// test vector: pixels that normalise to the test input must give the reference outputs.
/// </summary>
public sealed class BackboneGraphTests
{
    [SharedDataFact]
    public void Folded_normalisation_reproduces_the_backbone_test_vector()
    {
        string model = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string input = SharedData.File("models", "testvectors", "mobilenetv2_1.0_imagenet_features_input_dog_256.f32")!;
        using var expected = JsonDocument.Parse(File.ReadAllText(SharedData.File("models", "testvectors", "mobilenetv2_1.0_imagenet_features_expected.json")!));
        float[] normalised = ReadFloats(input);
        // Undo the normalisation: pixels = 255·(x·std + mean), the values ExtractPixels would give.
        var pixels = new float[normalised.Length];
        int plane = 256 * 256;
        for (int i = 0; i < pixels.Length; i++)
        {
            int c = i / plane;
            pixels[i] = 255f * (normalised[i] * BackboneGraph.ImageNetStd[c] + BackboneGraph.ImageNetMean[c]);
        }
        string[] layers = ["stride4", "stride8", "stride16"];
        var prepared = BackboneGraph.Prepare(File.ReadAllBytes(model), "mobilenetv2", layers, "Pixels", "Features", 256, 256);
        Assert.Equal(new[] { (24, 64, 64), (32, 32, 32), (96, 16, 16) }, prepared.Scales);

        using var session = new InferenceSession(prepared.Model);
        using var value = OrtValue.CreateTensorValueFromMemory(pixels, [1, 3, 256, 256]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["Pixels"], [value], ["Features", "Features.Shapes"]);
        float[] features = results[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(new float[] { 24, 64, 64, 32, 32, 32, 96, 16, 16 }, results[1].GetTensorDataAsSpan<float>().ToArray());
        int offset = 0;
        foreach (var (layer, (c, h, w)) in layers.Zip(prepared.Scales))
        {
            var reference = expected.RootElement.GetProperty("outputs").GetProperty(layer);
            var slice = features.AsSpan(offset, c * h * w);
            double mean = 0;
            foreach (float v in slice) mean += v;
            mean /= slice.Length;
            // The reference was computed by ONNX Runtime 1.30 on the normalised input; the fold (one multiply-add per
            // pixel instead of divide-subtract) and the round trip through pixels change inputs by ~1e-6 relative.
            Assert.Equal(reference.GetProperty("mean").GetDouble(), mean, 4);
            var first8 = reference.GetProperty("first8").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            for (int i = 0; i < 8; i++) Assert.Equal(first8[i], slice[i], 3);
            offset += slice.Length;
        }
        Assert.Equal(features.Length, offset);
    }

    [SharedDataFact]
    public void An_unknown_layer_is_refused_with_the_backbones_outputs()
    {
        byte[] model = File.ReadAllBytes(SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!);
        var e = Assert.Throws<ArgumentException>(() => BackboneGraph.Prepare(model, "mobilenetv2", ["stride5"], "Pixels", "Features", 64, 64));
        Assert.Contains("'stride5'", e.Message);
        Assert.Contains("stride4", e.Message);
    }

    [Fact]
    public void Bytes_that_are_not_onnx_are_refused_with_the_name()
    {
        var e = Assert.Throws<ArgumentException>(() => BackboneGraph.Prepare([1, 2, 3, 4, 5], "junk.onnx", ["x"], "Pixels", "Features", 64, 64));
        Assert.Contains("junk.onnx", e.Message);
    }

    [SharedDataFact]
    public void OutputNames_lists_the_layers_of_mobilenetv2()
    {
        IReadOnlyList<string> names = BackboneGraph.OutputNames(File.ReadAllBytes(SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!), "mobilenetv2");
        Assert.Superset(new HashSet<string> { "stride4", "stride8", "stride16" }, names.ToHashSet());
    }

    [Fact]
    public void OutputNames_of_bytes_that_are_not_onnx_are_refused_with_the_name()
    {
        var e = Assert.Throws<ArgumentException>(() => BackboneGraph.OutputNames([1, 2, 3, 4, 5], "junk.onnx"));
        Assert.Contains("junk.onnx", e.Message);
    }

    [Fact]
    public void OutputNames_of_the_mscait_fixture_is_its_one_token_output()
    {
        IReadOnlyList<string> names = BackboneGraph.OutputNames(File.ReadAllBytes(MsCaitFixtures.File("mscait_coarse.onnx")), "coarse");
        Assert.Equal(["tokens"], names);
    }

    [SharedDataFact]
    public void CsFlow_scales_are_the_backbone_on_every_2nd_and_4th_pixel()
    {
        byte[] model = File.ReadAllBytes(SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!);
        var prepared = BackboneGraph.PrepareCsFlow(model, "mobilenetv2", "stride16", "Pixels", "Features", 128, 128);
        Assert.Equal(new[] { (96, 8, 8), (96, 4, 4), (96, 2, 2) }, prepared.Scales);
        var single = BackboneGraph.Prepare(model, "mobilenetv2", ["stride16"], "Pixels", "Features", 64, 64);

        var random = new Random(5);
        float[] pixels = Enumerable.Range(0, 3 * 128 * 128).Select(_ => (float)random.Next(256)).ToArray();
        // The 1/2 copy by hand: every 2nd pixel of every 2nd row, starting at 0 (nearest, floor(dst·in/out)).
        float[] half = new float[3 * 64 * 64];
        for (int c = 0; c < 3; c++) for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) half[(c * 64 + y) * 64 + x] = pixels[(c * 128 + 2 * y) * 128 + 2 * x];

        float[] all = Run(prepared.Model, pixels, 128);
        float[] direct = Run(single.Model, half, 64);
        Assert.Equal(96 * (64 + 16 + 4), all.Length);
        float[] second = all.AsSpan(96 * 64, 96 * 16).ToArray();
        for (int i = 0; i < direct.Length; i++) Assert.Equal(direct[i], second[i], 4);
    }

    private static float[] Run(byte[] graph, float[] pixels, int side)
    {
        using var session = new InferenceSession(graph);
        using var value = OrtValue.CreateTensorValueFromMemory(pixels, [1, 3, side, side]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["Pixels"], [value], ["Features"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static float[] ReadFloats(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }
}

/// <summary>The MS-CaiT pair as one prepared graph, against PyTorch's maps of the same tiny token models.</summary>
public sealed class MsCaitGraphTests
{
    [Fact]
    public void The_merged_graph_reproduces_pytorchs_maps()
    {
        using var doc = MsCaitFixtures.Json("mscait.json");
        float[] expected = MsCaitFixtures.RawFloats("mscait_expected.f32");
        byte[] fine = File.ReadAllBytes(MsCaitFixtures.File("mscait_fine.onnx"));
        byte[] coarse = File.ReadAllBytes(MsCaitFixtures.File("mscait_coarse.onnx"));
        var prepared = BackboneGraph.PrepareMsCait(fine, coarse, "Pixels", "Features", 448);
        Assert.Equal(new[] { (24, 28, 28), (16, 14, 14) }, prepared.Scales);

        // The fixture's input is the normalised pattern; the graph takes pixels, so undo the normalisation.
        var pattern = MsCaitFixtures.Pattern(2, 448);
        float[] normalised = pattern.Span.ToArray();
        var pixels = new float[normalised.Length];
        int plane = 448 * 448;
        for (int i = 0; i < pixels.Length; i++)
        {
            int c = i / plane % 3;
            pixels[i] = 255f * (normalised[i] * BackboneGraph.ImageNetStd[c] + BackboneGraph.ImageNetMean[c]);
        }
        using var session = new InferenceSession(prepared.Model);
        using var value = OrtValue.CreateTensorValueFromMemory(pixels, [2, 3, 448, 448]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["Pixels"], [value], ["Features"]);
        float[] features = results[0].GetTensorDataAsSpan<float>().ToArray();
        int fineLength = 24 * 28 * 28, coarseLength = 16 * 14 * 14;
        Assert.Equal(2 * (fineLength + coarseLength), features.Length);
        // The fixture holds fine [2, 24, 28, 28] then coarse [2, 16, 14, 14]; the graph holds, per image, fine then coarse.
        for (int b = 0; b < 2; b++)
        {
            AssertClose(expected.AsSpan(b * fineLength, fineLength), features.AsSpan(b * (fineLength + coarseLength), fineLength), $"fine[{b}]");
            AssertClose(expected.AsSpan(2 * fineLength + b * coarseLength, coarseLength),
                features.AsSpan(b * (fineLength + coarseLength) + fineLength, coarseLength), $"coarse[{b}]");
        }
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            // LayerNorm outputs are O(1): relative 1e-4 with 1 as the floor, as version 1's direct runs (the pixel round
            // trip and ONNX Runtime's cubic Resize stay within it).
            double error = Math.Abs(actual[i] - expected[i]) / Math.Max(1.0, Math.Abs(expected[i]));
            Assert.True(error <= 1e-4, $"{what}[{i}]: {actual[i]} vs {expected[i]}");
        }
    }
}
