using System.Buffers.Binary;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Flows;

/// <summary>
/// Seeded mutation fuzzing of the two flow model formats (U-Flow <see cref="UShapedFlowSerializer"/> and
/// <see cref="CsFlowModel"/>): truncations, byte flips and integers overwritten with extreme values (biased towards the
/// header, where the sizes live). Every case must either load or throw <see cref="InvalidDataException"/> naming the
/// source; any other exception (out of memory, overflow, argument, format) fails the test with the case number.
/// </summary>
public sealed class FlowSerializerFuzzTests
{
    private const string Source = "fuzzed.bin";

    private static byte[] SmallUFlow()
    {
        var flow = new UShapedFlow(UShapedFlowExactnessTests.ThreeScales(layerNorm: true));
        FlowTestData.Perturb(flow, new SeededRandom(1));
        var stream = new MemoryStream();
        UShapedFlowSerializer.Save(flow, stream);
        return stream.ToArray();
    }

    private static byte[] SmallCsFlow()
    {
        var model = new CsFlowModel(new CsFlowNetwork(new CsFlowNetworkOptions { Channels = 4, HiddenChannels = 4, KernelSizes = [3, 1] }),
            new Dictionary<string, string> { ["backbone"] = "test", ["size"] = "64" });
        var stream = new MemoryStream();
        model.Save(stream);
        return stream.ToArray();
    }

    [Fact]
    public void UFlowMutationsOnlyRaiseInvalidData() =>
        Fuzz(SmallUFlow(), bytes => UShapedFlowSerializer.Load(new MemoryStream(bytes), Source), seed: 11);

    [Fact]
    public void CsFlowMutationsOnlyRaiseInvalidData() =>
        Fuzz(SmallCsFlow(), bytes => CsFlowModel.Load(new MemoryStream(bytes), Source), seed: 12);

    [Fact]
    public void HugeSizesAreRefusedBeforeAllocating()
    {
        // CS-Flow: Channels (right after signature, version, minimum reader) set to int.MaxValue.
        byte[] cs = SmallCsFlow();
        BinaryPrimitives.WriteInt32LittleEndian(cs.AsSpan(1 + CsFlowModelFormat.Signature.Length + 8), int.MaxValue);
        var e = Assert.Throws<InvalidDataException>(() => CsFlowModel.Load(new MemoryStream(cs), Source));
        Assert.Contains(Source, e.Message);
        Assert.Contains("channels", e.Message);

        // CS-Flow: hidden channels large but plausible-looking (the weights it implies are not in the file).
        cs = SmallCsFlow();
        BinaryPrimitives.WriteInt32LittleEndian(cs.AsSpan(1 + CsFlowModelFormat.Signature.Length + 12), 60_000);
        e = Assert.Throws<InvalidDataException>(() => CsFlowModel.Load(new MemoryStream(cs), Source));
        Assert.Contains("truncated", e.Message);

        // U-Flow: the first parameter name's 7-bit length made malformed (five continuation bytes).
        byte[] uf = SmallUFlow();
        int name = IndexOf(uf, "stage0.step0"u8) - 1;
        uf.AsSpan(name, 5).Fill(0xFF);
        e = Assert.Throws<InvalidDataException>(() => UShapedFlowSerializer.Load(new MemoryStream(uf), Source));
        Assert.Contains(Source, e.Message);

        // U-Flow: the first scale's channels set to int.MaxValue.
        uf = SmallUFlow();
        BinaryPrimitives.WriteInt32LittleEndian(uf.AsSpan(8 + 4 + 4), int.MaxValue);
        e = Assert.Throws<InvalidDataException>(() => UShapedFlowSerializer.Load(new MemoryStream(uf), Source));
        Assert.Contains("scale 0 channels", e.Message);
    }

    [Fact]
    public void StreamsThatCannotSeekAreCheckedAgainstTheirLengthToo()
    {
        byte[] cs = SmallCsFlow();
        Assert.NotNull(CsFlowModel.Load(new ForwardOnlyStream(cs), Source));
        BinaryPrimitives.WriteInt32LittleEndian(cs.AsSpan(1 + CsFlowModelFormat.Signature.Length + 12), 60_000); // hidden channels
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => CsFlowModel.Load(new ForwardOnlyStream(cs), Source)).Message);
        byte[] uf = SmallUFlow();
        Assert.NotNull(UShapedFlowSerializer.Load(new ForwardOnlyStream(uf), Source));
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => UShapedFlowSerializer.Load(new ForwardOnlyStream(uf[..^9]), Source)).Message);
    }

    private sealed class ForwardOnlyStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle)
    {
        int at = haystack.AsSpan().IndexOf(needle);
        Assert.True(at > 0, "marker not found");
        return at;
    }

    private static void Fuzz(byte[] original, Action<byte[]> load, int seed)
    {
        load(original); // the unmutated file loads
        var random = new Random(seed);
        int loaded = 0, rejected = 0;
        const int cases = 1500;
        for (int i = 0; i < cases; i++)
        {
            byte[] bytes = FileMutations.Mutate(original, random, i);
            try
            {
                load(bytes);
                loaded++;
            }
            catch (InvalidDataException e)
            {
                Assert.True(e.Message.Contains(Source, StringComparison.Ordinal), $"case {i}: the message does not name the source: {e.Message}");
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"case {i} (seed {seed}) threw {e.GetType().Name}: {e.Message}");
            }
        }
        // Both outcomes must be common, or the fuzzing never reached the deeper paths.
        Assert.True(rejected > cases / 4, $"{rejected} rejected");
        Assert.True(loaded > cases / 20, $"{loaded} loaded");
    }
}
