using System.CommandLine;
using System.Globalization;
using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Cli.Report;
using Microsoft.ML.UFlow.Tensors;
using Spectre.Console;

namespace Microsoft.ML.UFlow.Cli.Commands;

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
        var ctx = new UFlowContext();
        var model = ctx.Model.Load(modelFile.FullName, out var inputSchema);
        var caps = ModelCapabilities.Of(model, inputSchema, modelFile.FullName);
        var engine = ctx.Model.CreatePredictionEngine(model, inputSchema);
        output.Create();
        var table = new Table().AddColumn("image").AddColumn(new TableColumn("score").RightAligned());
        if (caps.HasNfa) table.AddColumn(new TableColumn("max -log10 NFA").RightAligned()).AddColumn(new TableColumn("anomalous pixels").RightAligned());
        table.AddColumn("verdict").AddColumn("outputs");
        var stems = UniqueStems(images);
        for (int index = 0; index < images.Length; index++)
        {
            var image = images[index];
            if (!image.Exists) throw new FileNotFoundException($"Image '{image.FullName}' does not exist.", image.FullName);
            var row = engine.PredictImage(image.FullName);
            float score = row.Get<float>(UFlowColumns.Score);
            string stem = stems[index];
            ReportImages.WritePrediction(output.FullName, stem, row, caps);
            var cells = new List<string> { Markup.Escape(image.Name), score.ToString("0.0000", CultureInfo.InvariantCulture) };
            bool anomalous;
            if (caps.HasNfa)
            {
                float maxLogNfa = TensorPrimitives.Max(row.Get<Tensor>(UFlowColumns.LogNfa).Span);
                int pixels = (int)TensorPrimitives.Sum(row.Get<Tensor>(UFlowColumns.SegmentationMask).Span);
                cells.Add(maxLogNfa.ToString("0.00", CultureInfo.InvariantCulture));
                cells.Add(pixels.ToString(CultureInfo.InvariantCulture));
                anomalous = pixels > 0;
            }
            else
            {
                anomalous = row.Get<bool>(UFlowColumns.PredictedLabel);
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
