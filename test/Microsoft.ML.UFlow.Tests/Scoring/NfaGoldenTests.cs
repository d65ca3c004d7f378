using System.Text.Json;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Scoring;

/// <summary>
/// Whole-pipeline goldens from test/golden/nfa_make_fixtures.py: an independent literal Python implementation of
/// METHOD.md A.7 with PyTorch's F.interpolate (bilinear align_corners=False and nearest) and mpmath for log10 N_T.
/// </summary>
public class NfaGoldenTests
{
    public static TheoryData<string> CaseNames => new() { "planted_bilinear", "planted_nearest", "under_dispersed_official", "under_dispersed_guard" };

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void SegmenterMatchesPythonReference(string name)
    {
        JsonElement c = LoadCase(name);
        JsonElement[] scales = c.GetProperty("scales").EnumerateArray().ToArray();
        var latents = scales.Select(s =>
        {
            float[] z = s.GetProperty("z").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            return new Tensor(z, 1, s.GetProperty("c").GetInt32(), s.GetProperty("h").GetInt32(), s.GetProperty("w").GetInt32());
        }).ToArray();
        int size = c.GetProperty("size").GetInt32();
        var options = new NfaSegmentationOptions
        {
            OutputSize = size,
            Upsampling = c.GetProperty("mode").GetString() == "nearest" ? NfaUpsampling.Nearest : NfaUpsampling.Bilinear,
            UnderDispersionGuard = c.GetProperty("guard").GetBoolean(),
        };
        var segmenter = new NfaSegmenter(options);
        (float[] map, bool[] mask, NfaImageResult summary) = segmenter.Segment(latents, 0);

        Assert.Equal(c.GetProperty("log10_nt").GetDouble(), segmenter.Log10NumberOfTests, 9);
        JsonElement[] scaleMaps = c.GetProperty("scale_maps").EnumerateArray().ToArray();
        for (int l = 0; l < scaleMaps.Length; l++)
        {
            ReadOnlySpan<float> actual = segmenter.ScaleLogPfaMap(l);
            int p = 0;
            foreach (JsonElement v in scaleMaps[l].EnumerateArray())
            {
                if (v.ValueKind == JsonValueKind.Null)
                {
                    Assert.True(float.IsNaN(actual[p]), $"{name} scale {l} pixel {p}: expected no region, got {actual[p]}");
                }
                else
                {
                    double expected = v.GetDouble();
                    Assert.True(Math.Abs(expected - actual[p]) <= 1e-5 * Math.Max(1, Math.Abs(expected)), $"{name} scale {l} pixel {p}: {expected} vs {actual[p]}");
                }
                p++;
            }
        }
        float[] expectedMap = c.GetProperty("neg_log10_nfa").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(size * size, expectedMap.Length);
        int detected = 0;
        for (int p = 0; p < expectedMap.Length; p++)
        {
            Assert.True(Math.Abs(expectedMap[p] - map[p]) <= 1e-4f * Math.Max(1f, Math.Abs(expectedMap[p])), $"{name} output pixel {p}: {expectedMap[p]} vs {map[p]}");
            Assert.Equal(expectedMap[p] > 0, mask[p]);
            detected += expectedMap[p] > 0 ? 1 : 0;
        }
        Assert.Equal(detected, summary.DetectedPixels);
    }

    private static JsonElement LoadCase(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Nfa", "nfa_pipeline.json");
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name).Clone();
    }
}
