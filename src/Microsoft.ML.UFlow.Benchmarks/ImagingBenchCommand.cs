using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Microsoft.ML.UFlow.Benchmarks;

// ML.NET has a namespace Microsoft.ML.Command, which hides System.CommandLine's Command inside namespace Microsoft.ML.*.
using Command = System.CommandLine.Command;

/// <summary><c>uflow bench imaging</c>: decode + resize + normalise images/s (see <see cref="ImagePipelineBenchmark"/>).</summary>
internal static class ImagingBenchCommand
{
    public static Command Create()
    {
        var dir = new Option<DirectoryInfo>("--images") { Description = "Folder searched recursively for *.png, *.jpg, *.bmp (default: ../shared/data/mvtec_ad/bottle/train/good)." };
        var size = new Option<int>("--size") { Description = "Side of the square resize.", DefaultValueFactory = _ => 256 };
        var passes = new Option<int>("--passes") { Description = "Timed passes over the files.", DefaultValueFactory = _ => 3 };
        var limit = new Option<int>("--limit") { Description = "Use at most this many files.", DefaultValueFactory = _ => 100 };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the result as JSON to this file." };
        var cmd = new Command("imaging", "Image pipeline throughput: decode + PIL-bilinear resize + ImageNet normalisation.");
        cmd.Options.Add(dir);
        cmd.Options.Add(size);
        cmd.Options.Add(passes);
        cmd.Options.Add(limit);
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            string folder = parse.GetValue(dir)?.FullName ?? Path.Combine("..", "shared", "data", "mvtec_ad", "bottle", "train", "good");
            if (!Directory.Exists(folder))
            {
                Console.Error.WriteLine($"Image folder not found: {folder} (pass --images).");
                return 2;
            }
            var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".bmp", StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal).Take(parse.GetValue(limit)).ToList();
            var r = ImagePipelineBenchmark.Run(files, parse.GetValue(size), parse.GetValue(passes));
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Format(inv, "{0} images from {1}, resize to {2}x{2}", r.Images, folder, r.Size));
            Console.WriteLine(string.Format(inv, "single thread: decode {0:F2} ms, resize {1:F2} ms, normalise {2:F2} ms per image -> {3:F1} images/s",
                r.DecodeMs, r.ResizeMs, r.NormalizeMs, r.ImagesPerSecond));
            Console.WriteLine(string.Format(inv, "{0} threads: {1:F1} images/s", r.Threads, r.ParallelImagesPerSecond));
            FileInfo? jsonFile = parse.GetValue(json);
            if (jsonFile is not null) File.WriteAllText(jsonFile.FullName, JsonSerializer.Serialize(r, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
        return cmd;
    }
}
