using System.CommandLine;
using System.Globalization;
using Microsoft.ML.UFlow.Cli.Report;
using Spectre.Console;

namespace Microsoft.ML.UFlow.Cli.Commands;

// ML.NET has a namespace Microsoft.ML.Command, which hides System.CommandLine's Command inside namespace Microsoft.ML.*.
using Command = System.CommandLine.Command;

/// <summary>
/// <c>uflow predict</c>: runs a saved model on image files. U-Flow: score, max −log10 NFA, segmentation mask and overlay
/// PNGs. CS-Flow (no NFA): score, verdict score &gt; threshold, heat-map overlay PNG.
/// </summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "The model .zip written by 'uflow train' (U-Flow or CS-Flow).", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for <name>_overlay.png (and, for U-Flow, <name>_mask.png).", DefaultValueFactory = _ => new DirectoryInfo("predictions") };
        var images = new Argument<FileInfo[]>("IMAGE") { Description = "Image files (PNG, JPEG, BMP).", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("predict", "Score images with a saved model: anomaly score and heat-map overlay per image; for U-Flow also -log10 NFA and the segmentation mask.");
        cmd.Options.Add(model);
        cmd.Options.Add(output);
        cmd.Arguments.Add(images);
        cmd.SetAction(parse => CliErrors.Run(() => Run(parse.GetValue(model)!, parse.GetValue(images)!, parse.GetValue(output)!)));
        return cmd;
    }

    private static int Run(FileInfo modelFile, FileInfo[] images, DirectoryInfo output)
    {
        var ml = new MLContext();
        ml.DisableOnnxRuntimeSpinning(); // row-at-a-time scoring: spin-waiting threads cost CPU, not wall time
        ITransformer model = UFlowModelFile.Load(ml, modelFile.FullName, out var inputSchema);
        try
        {
            return Predict(ml, model, ModelCapabilities.Of(model, inputSchema, modelFile.FullName), images, output);
        }
        finally
        {
            TransformerDisposal.Dispose(model);
        }
    }

    private static int Predict(MLContext ml, ITransformer model, ModelCapabilities caps, FileInfo[] images, DirectoryInfo output)
    {
        // A CS-Flow model has no NFA columns: the engine leaves them empty (missing columns ignored). A tiled model scores
        // whole images through the library's TiledAnomalyScorer, at their full resolution.
        using var engine = caps.Tiling is null ? ml.Model.CreatePredictionEngine<ImageInput, UFlowPrediction>(model, ignoreMissingColumns: true) : null;
        var tiled = caps.Tiling is null ? null : new TiledAnomalyScorer(model, caps.Tiling);
        if (caps.Tiling is { } tiling) AnsiConsole.MarkupLine($"tiled model: {tiling.TileSize}x{tiling.TileSize} tiles, overlap {tiling.Overlap}; maps and masks at each image's full resolution");
        output.Create();
        var table = new Table().AddColumn("image").AddColumn(new TableColumn("score").RightAligned());
        if (caps.HasNfa) table.AddColumn(new TableColumn("max -log10 NFA").RightAligned()).AddColumn(new TableColumn("anomalous pixels").RightAligned());
        table.AddColumn("verdict").AddColumn("outputs");
        if (tiled is null && AspectWarning.For(images.Select(i => i.FullName).ToList(), caps.InputWidth, caps.InputHeight) is string warning) AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(warning)}[/]");
        var stems = UniqueStems(images);
        for (int index = 0; index < images.Length; index++)
        {
            var image = images[index];
            if (!image.Exists) throw new FileNotFoundException($"Image '{image.FullName}' does not exist.", image.FullName);
            var (prediction, imageCaps) = tiled is null
                ? (ImageErrors.Named(image.FullName, () => engine!.Predict(new ImageInput { ImagePath = image.FullName })), caps)
                : Tiled(tiled, image.FullName, caps);
            string stem = stems[index];
            ReportImages.WritePrediction(output.FullName, stem, image.FullName, prediction, imageCaps);
            var cells = new List<string> { Markup.Escape(image.Name), prediction.Score.ToString("0.0000", CultureInfo.InvariantCulture) };
            bool anomalous;
            if (caps.HasNfa)
            {
                float maxLogNfa = TensorPrimitives.Max<float>(prediction.LogNfa);
                int pixels = prediction.SegmentationMask.Count(m => m);
                cells.Add(maxLogNfa.ToString("0.00", CultureInfo.InvariantCulture));
                cells.Add(pixels.ToString(CultureInfo.InvariantCulture));
                anomalous = pixels > 0;
            }
            else
            {
                anomalous = prediction.PredictedLabel;
            }
            cells.Add(anomalous ? "[red]anomalous[/]" : "[green]normal[/]");
            cells.Add(Markup.Escape(caps.HasNfa ? $"{stem}_{{mask,overlay}}.png" : $"{stem}_overlay.png"));
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
        if (!caps.HasNfa)
        {
            AnsiConsole.MarkupLine(Markup.Escape($"{caps.DisplayName} verdict: score > threshold {caps.Threshold.ToString("0.######", CultureInfo.InvariantCulture)} (the highest training score unless changed). {caps.NfaUnavailableLine}"));
        }
        AnsiConsole.MarkupLine($"PNGs written to [green]{Markup.Escape(output.FullName)}[/]");
        return 0;
    }

    // The stitched prediction in the shape the pictures take, with the capabilities on the image's grid.
    private static (UFlowPrediction, ModelCapabilities) Tiled(TiledAnomalyScorer scorer, string path, ModelCapabilities caps)
    {
        TiledPrediction p = ImageErrors.Named(path, () => scorer.Score(path));
        var prediction = new UFlowPrediction { Score = p.Score, PredictedLabel = p.PredictedLabel, AnomalyMap = p.AnomalyMap, LogNfa = p.LogNfa, SegmentationMask = p.SegmentationMask };
        return (prediction, caps.ForImage(p.Width, p.Height));
    }

    /// <summary>Output names: the file stem, or parent_stem (then a counter) when two inputs share a stem (MVTec's 000.png in every folder).</summary>
    private static string[] UniqueStems(FileInfo[] images)
    {
        var plain = images.Select(i => Path.GetFileNameWithoutExtension(i.Name)).ToArray();
        var result = new string[images.Length];
        var used = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < images.Length; i++)
        {
            string stem = plain.Count(p => p == plain[i]) == 1 ? plain[i] : $"{images[i].Directory?.Name}_{plain[i]}";
            string candidate = stem;
            for (int k = 2; !used.Add(candidate); k++) candidate = $"{stem}_{k}";
            result[i] = candidate;
        }
        return result;
    }
}
