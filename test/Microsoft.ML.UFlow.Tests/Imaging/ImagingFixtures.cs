using System.Security.Cryptography;
using System.Text.Json;

namespace Microsoft.ML.UFlow.Tests.Imaging;

/// <summary>Reads the fixtures made by test/golden/imaging_make_fixtures.py (PIL 9.4 / torch / matplotlib goldens).</summary>
internal static class ImagingFixtures
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Imaging");

    public static string PathOf(string relative) => Path.Combine(Dir, relative);

    public sealed record Expected(string Name, int Width, int Height, int Channels, byte[] Pixels);

    public static IReadOnlyList<Expected> Synthetic() => ReadExpected("synthetic.json", "name");

    public sealed record ResizeCase(string Source, int Width, int Height, int Channels, byte[] Pixels);

    public static IReadOnlyList<ResizeCase> Resize()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(PathOf("resize.json")));
        return doc.RootElement.EnumerateArray().Select(e => new ResizeCase(
            e.GetProperty("source").GetString()!, e.GetProperty("width").GetInt32(), e.GetProperty("height").GetInt32(),
            e.GetProperty("channels").GetInt32(), Convert.FromHexString(e.GetProperty("pixels").GetString()!))).ToList();
    }

    private static List<Expected> ReadExpected(string file, string nameKey)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(PathOf(file)));
        return doc.RootElement.EnumerateArray().Select(e => new Expected(
            e.GetProperty(nameKey).GetString()!, e.GetProperty("width").GetInt32(), e.GetProperty("height").GetInt32(),
            e.GetProperty("channels").GetInt32(), Convert.FromHexString(e.GetProperty("pixels").GetString()!))).ToList();
    }

    /// <summary>One line of real_decode.tsv / real_resize.tsv.</summary>
    public sealed record RealLine(string Path, int Width, int Height, int Channels, string Sha16, (int X, int Y, int C, int V)[] Samples);

    public static IReadOnlyList<RealLine> RealTsv(string file)
    {
        var list = new List<RealLine>();
        foreach (string line in File.ReadLines(PathOf(file)))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            string[] f = line.Split('\t');
            var samples = f.Length > 5 && f[5].Length > 0
                ? f[5].Split(' ').Select(s => s.Split(':').Select(int.Parse).ToArray()).Select(a => (a[0], a[1], a[2], a[3])).ToArray()
                : [];
            list.Add(new RealLine(f[0], int.Parse(f[1]), int.Parse(f[2]), int.Parse(f[3]), f[4], samples));
        }
        return list;
    }

    public static string Sha16(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data))[..16];
}
