using System.Text.Json;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Imaging;

public class ImageNormalizationTests
{
    /// <summary>Bit-identical to torch's ToTensor (div 255) + Normalize (sub mean, div std) in float32.</summary>
    [Fact]
    public void MatchesTorchBitForBit()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(ImagingFixtures.PathOf("normalize.json")));
        int w = doc.RootElement.GetProperty("width").GetInt32(), h = doc.RootElement.GetProperty("height").GetInt32();
        var image = new Image(w, h, 3, Convert.FromHexString(doc.RootElement.GetProperty("rgb").GetString()!));
        uint[] expected = doc.RootElement.GetProperty("chw_float_bits").EnumerateArray().Select(e => e.GetUInt32()).ToArray();
        Tensor t = ImageNormalization.ToTensor(image);
        Assert.Equal(new[] { 1, 3, h, w }, t.Shape.ToArray());
        uint[] got = t.Span.ToArray().Select(BitConverter.SingleToUInt32Bits).ToArray();
        Assert.Equal(expected, got);
    }

    [Fact]
    public void GreyIsReplicatedAndBatchSlotIsFilled()
    {
        var grey = new Image(2, 1, 1, [0, 255]);
        var t = new Tensor(2, 3, 1, 2);
        ImageNormalization.ToTensor(grey, t, 1);
        Assert.All(t.Sample(0).ToArray(), v => Assert.Equal(0f, v));
        float[] s = t.Sample(1).ToArray();
        Assert.Equal(-0.485f / 0.229f, s[0], 5);
        Assert.Equal((1f - 0.406f) / 0.225f, s[5], 5);
        Assert.Equal(ImageNormalization.ToTensor(grey.ToRgb()).Span.ToArray(), s);
        Assert.Throws<ArgumentException>(() => ImageNormalization.ToTensor(grey, new Tensor(1, 3, 2, 2), 0));
    }
}
