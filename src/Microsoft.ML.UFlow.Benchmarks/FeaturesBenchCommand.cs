using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.UFlow.Benchmarks.Featurization;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Benchmarks;

// ML.NET has a namespace Microsoft.ML.Command, which hides System.CommandLine's Command inside namespace Microsoft.ML.*.
using Command = System.CommandLine.Command;

/// <summary>
/// <c>uflow bench features</c>: images per second of the image pipeline (decode + PIL-bilinear resize + ImageNet
/// normalisation of the 900×900 bottle PNGs) and of feature extraction with the shared ONNX backbones
/// (ResNet-50 v2 layer1-3_act and MobileNetV2 stride4/8/16) at 256×256 on ONNX Runtime with a fixed thread count.
/// Each backbone is warmed up, then the backbones are timed in interleaved rounds so that load from other processes
/// hits them alike; the median round is reported.
/// </summary>
internal static class FeaturesBenchCommand
{
    /// <summary>One measured quantity (more can be appended, e.g. image decode + resize + normalise).</summary>
    internal sealed record Measurement(string Name, string Unit, double Value, string Details);

    /// <summary>A backbone to featurise with.</summary>
    internal sealed record Backbone(string Name, string File, string[] Outputs);

    internal static readonly Backbone[] Backbones =
    [
        new("ResNet-50 v2", "resnet50v2_imagenet_layer1-3.onnx", ["layer1_act", "layer2_act", "layer3_act"]),
        new("MobileNetV2", "mobilenetv2_1.0_imagenet_features.onnx", ["stride4", "stride8", "stride16"]),
    ];

    public static Command Create()
    {
        var json = new Option<FileInfo?>("--json") { Description = "Also write the measurements to this JSON file." };
        var models = new Option<DirectoryInfo?>("--models") { Description = "Folder with the ONNX backbones (default: ../shared/models beside the repository)." };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads.", DefaultValueFactory = _ => 2 };
        var size = new Option<int>("--size") { Description = "Input height and width.", DefaultValueFactory = _ => 256 };
        var batch = new Option<int>("--batch") { Description = "Images per featurizer call.", DefaultValueFactory = _ => 1 };
        var rounds = new Option<int>("--rounds") { Description = "Timed rounds per backbone (median reported).", DefaultValueFactory = _ => 5 };
        var images = new Option<int>("--images") { Description = "Images per timed round.", DefaultValueFactory = _ => 8 };
        var pngs = new Option<DirectoryInfo?>("--pngs") { Description = "Folder of images for the decode + resize + normalise measurement (default: the bottle train/good PNGs in ../shared)." };
        var pngLimit = new Option<int>("--png-limit") { Description = "At most this many images for the decode + resize + normalise measurement.", DefaultValueFactory = _ => 50 };

        var command = new Command("features", "Feature extraction speed (images/s) of the ONNX backbones on ONNX Runtime.");
        foreach (Option o in new Option[] { json, models, threads, size, batch, rounds, images, pngs, pngLimit }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            string folder = parse.GetValue(models)?.FullName ?? DefaultModelsFolder();
            string imageFolder = parse.GetValue(pngs)?.FullName
                ?? Path.Combine(Path.GetDirectoryName(folder)!, "data", "mvtec_ad", "bottle", "train", "good");
            List<Measurement> results = MeasureImagePipeline(imageFolder, parse.GetValue(pngLimit), parse.GetValue(size), parse.GetValue(threads), Console.Out);
            results.AddRange(MeasureFeaturisation(folder, parse.GetValue(threads), parse.GetValue(size),
                parse.GetValue(batch), parse.GetValue(rounds), parse.GetValue(images), Console.Out));
            FileInfo? file = parse.GetValue(json);
            if (file is not null) WriteJson(file.FullName, results);
            return 0;
        });
        return command;
    }

    /// <summary>Decode + resize + normalise images/s (one thread and <paramref name="threads"/> workers) over the images of a folder.</summary>
    internal static List<Measurement> MeasureImagePipeline(string folder, int limit, int size, int threads, TextWriter log)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Image folder '{folder}' does not exist; pass --pngs.");
        string[] files = Directory.EnumerateFiles(folder)
            .Where(f => Path.GetExtension(f).ToLowerInvariant() is ".png" or ".jpg" or ".jpeg" or ".bmp")
            .Order(StringComparer.Ordinal).Take(Math.Max(1, limit)).ToArray();
        if (files.Length == 0) throw new InvalidDataException($"No decodable images in '{folder}'.");
        ImagePipelineResult r = ImagePipelineBenchmark.Run(files, size, passes: 2, threads);
        log.WriteLine($"Decode + resize to {size}x{size} + normalise, {files.Length} images from {folder}:");
        log.WriteLine($"  1 thread   {r.ImagesPerSecond,8:F2} images/s  (decode {r.DecodeMs:F2} ms, resize {r.ResizeMs:F2} ms, normalise {r.NormalizeMs:F2} ms)");
        log.WriteLine($"  {threads} threads  {r.ParallelImagesPerSecond,8:F2} images/s");
        string details = $"{files.Length} images from {folder}, {size}x{size}";
        return
        [
            new Measurement("decode+resize+normalise, 1 thread", "images/s", r.ImagesPerSecond, details),
            new Measurement($"decode+resize+normalise, {threads} threads", "images/s", r.ParallelImagesPerSecond, details),
        ];
    }

    /// <summary>Featurisation images/s for every backbone, timed in interleaved rounds.</summary>
    internal static List<Measurement> MeasureFeaturisation(string modelsFolder, int threads, int size, int batch, int rounds, int imagesPerRound, TextWriter log)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        var options = new OnnxRuntimeOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        var featurizers = new List<OnnxFeaturizer>();
        try
        {
            foreach (Backbone b in Backbones)
            {
                string path = Path.Combine(modelsFolder, b.File);
                featurizers.Add(new OnnxFeaturizer(path, b.Outputs, options));
            }
            var input = new Tensor(batch, 3, size, size);
            var rng = new SeededRandom(42);
            for (int i = 0; i < input.Length; i++) input.Span[i] = (float)rng.NextGaussian();
            int calls = Math.Max(1, imagesPerRound / batch);
            foreach (OnnxFeaturizer f in featurizers) f.Extract(input); // warm-up: ORT allocates its arena on the first run

            var seconds = featurizers.Select(_ => new List<double>()).ToArray();
            for (int r = 0; r < rounds; r++)
            {
                for (int k = 0; k < featurizers.Count; k++)
                {
                    long start = Stopwatch.GetTimestamp();
                    for (int c = 0; c < calls; c++) featurizers[k].Extract(input);
                    seconds[k].Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
            }
            var results = new List<Measurement>();
            log.WriteLine($"Featurisation at {size}x{size}, batch {batch}, {threads} intra-op threads, {calls * batch} images x {rounds} interleaved rounds (median):");
            for (int k = 0; k < featurizers.Count; k++)
            {
                double median = seconds[k].Order().ElementAt(seconds[k].Count / 2);
                double perSecond = calls * batch / median;
                string details = $"{Backbones[k].File} [{string.Join(",", Backbones[k].Outputs)}], {size}x{size}, batch {batch}, {threads} threads";
                results.Add(new Measurement($"featurise {Backbones[k].Name}", "images/s", perSecond, details));
                log.WriteLine($"  {Backbones[k].Name,-14} {perSecond,8:F2} images/s  ({1000 / perSecond:F1} ms/image)");
            }
            if (results.Count == 2) log.WriteLine($"  ratio MobileNetV2 / ResNet-50 v2 speed: {results[1].Value / results[0].Value:F2}x");
            return results;
        }
        finally
        {
            foreach (OnnxFeaturizer f in featurizers) f.Dispose();
        }
    }

    /// <summary>Writes the measurements and the machine to a JSON file (atomically: temp file, then rename).</summary>
    internal static void WriteJson(string path, IReadOnlyList<Measurement> results)
    {
        var document = new
        {
            benchmark = "features",
            machine = new { cores = Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, dotnet = Environment.Version.ToString() },
            utc = DateTime.UtcNow.ToString("O"),
            measurements = results.Select(m => new { name = m.Name, unit = m.Unit, value = m.Value, details = m.Details }),
        };
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>../shared/models beside the repository (found from the current folder or the executable), or UFLOW_SHARED/models.</summary>
    internal static string DefaultModelsFolder()
    {
        string? shared = Environment.GetEnvironmentVariable("UFLOW_SHARED");
        if (!string.IsNullOrEmpty(shared)) return Path.Combine(shared, "models");
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "shared", "models");
                if (Directory.Exists(candidate)) return candidate;
            }
        }
        throw new DirectoryNotFoundException("Cannot find ../shared/models; pass --models or set UFLOW_SHARED.");
    }
}
