using System.Buffers.Binary;
using Microsoft.ML.UFlow.Benchmarks.Featurization;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Benchmarks;

/// <summary>The bench feature-cache file: exact round trip, and every mismatch or damage reported (never read as garbage).</summary>
public sealed class FeatureTensorFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("uflow-ftf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly (int C, int H, int W)?[] Shapes = [(4, 6, 6), (8, 3, 3)];

    private static Tensor[] Maps(int n)
    {
        var rng = new SeededRandom(9);
        Tensor[] maps = [new Tensor(n, 4, 6, 6), new Tensor(n, 8, 3, 3)];
        foreach (Tensor m in maps)
            for (int i = 0; i < m.Length; i++) m.Span[i] = (float)rng.NextGaussian();
        return maps;
    }

    [Fact]
    public void RoundTripIsExactAndLeavesNoTemporaryFile()
    {
        string path = Path.Combine(_dir, "f.f32");
        Tensor[] maps = Maps(3);
        FeatureTensorFile.Write(path, maps);
        Assert.Equal(["f.f32"], Directory.GetFiles(_dir).Select(Path.GetFileName));
        Tensor[]? back = FeatureTensorFile.TryRead(path, 3, Shapes, out string? reason);
        Assert.Null(reason);
        Assert.NotNull(back);
        for (int s = 0; s < 2; s++)
        {
            Assert.True(back![s].SameShape([3, Shapes[s]!.Value.C, Shapes[s]!.Value.H, Shapes[s]!.Value.W]));
            Assert.Equal(maps[s].Span.ToArray(), back[s].Span.ToArray());
        }
        Assert.NotNull(FeatureTensorFile.TryRead(path, 3, [null, null], out _)); // null entries accept any shape
        Assert.Null(FeatureTensorFile.TryRead(Path.Combine(_dir, "absent.f32"), 3, Shapes, out reason));
        Assert.Null(reason);
    }

    [Fact]
    public void ATensorOfMoreThanTwoGigabytesRoundTrips()
    {
        // One byte span holds at most int.MaxValue bytes: before the sliced copy, writing this tensor threw
        // OverflowException (the MTD ResNet layer1 training features are 3.2 GB). 2.5 GB in memory twice and on disk.
        int length = (int.MaxValue / sizeof(float)) + 3 * FeatureTensorFile.SliceValues / 2;
        var big = new Tensor(1, 1, 1, length);
        Span<float> values = big.Span;
        for (int i = 0; i < length; i += 4093) values[i] = i;
        values[^1] = -1f;
        string path = Path.Combine(_dir, "big.f32");
        FeatureTensorFile.Write(path, [big]);
        Assert.Equal(32 + 4L * length, new FileInfo(path).Length); // 8 magic, version, scale count, N C H W
        Tensor[]? back = FeatureTensorFile.TryRead(path, 1, [(1, 1, length)], out string? reason);
        Assert.Null(reason);
        Assert.True(back![0].Span.SequenceEqual(big.Span));
    }

    [Fact]
    public void MismatchesAndDamageAreReportedNotRead()
    {
        string path = Path.Combine(_dir, "f.f32");
        FeatureTensorFile.Write(path, Maps(3));
        byte[] good = File.ReadAllBytes(path);

        void Expect(byte[] bytes, int count, (int, int, int)?[] shapes, string fragment)
        {
            File.WriteAllBytes(path, bytes);
            Assert.Null(FeatureTensorFile.TryRead(path, count, shapes, out string? reason));
            Assert.NotNull(reason);
            Assert.Contains(fragment, reason);
        }

        Expect(good, 4, Shapes, "3 samples, expected 4");
        Expect(good, 3, [(4, 6, 6), (8, 3, 4)], "scale 1 has shape 8@3x3, expected 8@3x4");
        Expect(good, 3, [(4, 6, 6)], "2 scales, expected 1");
        Expect(good[..^1], 3, Shapes, "truncated");
        Expect([.. good, 0], 3, Shapes, "header implies");
        Expect(good[..10], 3, Shapes, "signature");
        byte[] foreign = good.ToArray();
        foreign[0] ^= 1;
        Expect(foreign, 3, Shapes, "signature");
        byte[] newer = good.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(newer.AsSpan(8), 2);
        Expect(newer, 3, Shapes, "version 2");
        byte[] huge = good.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(huge.AsSpan(16 + 4), int.MaxValue); // scale 0 channels
        Expect(huge, 3, [null, null], "values");
    }
}
