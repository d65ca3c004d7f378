using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Cli.Report;
using Spectre.Console;

namespace Microsoft.ML.UFlow.Cli.Commands;

/// <summary><c>uflow eval</c>: scores a test set with a saved model and prints/writes the U-Flow metrics, optionally with a visual report.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "The model .zip written by 'uflow train'.", Required = true };
        var data = new Option<DirectoryInfo>("--data") { Description = "Test data: an MVTec AD category folder, a plain folder, or the MTD folder.", Required = true };
        var json = new Option<FileInfo?>("--json") { Description = "Write the metrics to this JSON file." };
        var report = new Option<DirectoryInfo?>("--report") { Description = "Write an HTML report (index.html + PNGs) into this folder." };
        var cmd = new Command("eval", "Evaluate a saved model: image AUROC, pixel AUROC, AUPRO, mIoU at log NFA < 0, pixel F1-max, false alarms.");
        foreach (var o in new Option[] { model, data, json, report }) cmd.Options.Add(o);
        cmd.SetAction(parse => CliErrors.Run(() => Run(parse.GetValue(model)!, parse.GetValue(data)!, parse.GetValue(json), parse.GetValue(report))));
        return cmd;
    }

    private static readonly string[] s_kept =
    [
        DataCatalog.ImagePathColumn, DataCatalog.LabelColumn, UFlowColumns.Score, UFlowColumns.PredictedLabel,
        UFlowColumns.AnomalyMap, UFlowColumns.LogNfa, UFlowColumns.SegmentationMask, UFlowColumns.GroundTruth,
    ];

    private static int Run(FileInfo modelFile, DirectoryInfo data, FileInfo? json, DirectoryInfo? reportDir)
    {
        var clock = Stopwatch.StartNew();
        var ctx = new UFlowContext();
        var model = ctx.Model.Load(modelFile.FullName, out var inputSchema);
        var test = ctx.Data.LoadFromDirectory(data.FullName, DataSplit.Test);
        int total = (int)(test.GetRowCount() ?? 0);
        if (total == 0) throw new ArgumentException($"No test images found under '{data.FullName}'.");
        int inputSize = DefaultPipeline.InputSize(model);
        var scored = model.Transform(test);
        scored = ctx.Transforms.LoadMasks(UFlowColumns.GroundTruth, DataCatalog.MaskPathColumn, inputSize, UFlowColumns.EvaluationSize).Fit(scored).Transform(scored);
        AnsiConsole.MarkupLine($"[bold]uflow eval[/]: {total} test images from {Markup.Escape(data.FullName)} with {Markup.Escape(modelFile.Name)}");

        var keptSchema = new DataSchema(s_kept.Select(c => scored.Schema[c]));
        var keptIndex = s_kept.Select(scored.Schema.IndexOf).ToArray();
        var entries = new List<ReportEntry>();
        string? imagesDir = reportDir is null ? null : Path.Combine(reportDir.FullName, "images");
        if (imagesDir is not null) Directory.CreateDirectory(imagesDir);
        var rows = ConsoleProgress.Run(bars =>
        {
            var kept = new List<object?[]>();
            foreach (var row in scored.GetRows())
            {
                kept.Add(keptIndex.Select(i => row[i]).ToArray());
                if (imagesDir is not null) entries.Add(ReportImages.Write(imagesDir, row, kept.Count - 1, data.FullName));
                bars.Report("evaluate", kept.Count, total);
            }
            return kept;
        });
        var view = ctx.Data.LoadFromRows(keptSchema, rows);
        var detection = ctx.AnomalyDetection.Evaluate(view);
        var segmentation = ctx.AnomalyDetection.EvaluateSegmentation(view);
        var results = new List<(string Name, string Value)>
        {
            ("image_auroc", F(detection.AreaUnderRocCurve)),
            ("pixel_auroc", F(segmentation.PixelAuroc)),
            ("aupro", F(segmentation.Aupro)),
            ("miou_nfa", F(segmentation.MeanIouAtNfa)),
            ("f1max_pixel", F(segmentation.F1MaxPixel)),
            ("false_alarm_images", segmentation.FalseAlarmImages.ToString(CultureInfo.InvariantCulture)),
            ("n_images", segmentation.ImageCount.ToString(CultureInfo.InvariantCulture)),
        };
        var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        foreach (var (name, value) in results) table.AddRow(name, value);
        AnsiConsole.Write(table);

        if (json is not null)
        {
            var payload = new Dictionary<string, object>
            {
                ["image_auroc"] = detection.AreaUnderRocCurve,
                ["pixel_auroc"] = segmentation.PixelAuroc,
                ["aupro"] = segmentation.Aupro,
                ["miou_nfa"] = segmentation.MeanIouAtNfa,
                ["f1max_pixel"] = segmentation.F1MaxPixel,
                ["false_alarm_images"] = segmentation.FalseAlarmImages,
                ["n_images"] = segmentation.ImageCount,
            };
            if (json.Directory is not null) json.Directory.Create();
            string temp = json.FullName + ".tmp";
            File.WriteAllText(temp, JsonSerializer.Serialize(payload, new JsonSerializerOptions { WriteIndented = true }));
            File.Move(temp, json.FullName, overwrite: true);
            AnsiConsole.MarkupLine($"metrics written to [green]{Markup.Escape(json.FullName)}[/]");
        }
        if (reportDir is not null)
        {
            var extra = results.Concat([
                ("detection_rate_at_" + detection.FalsePositiveCount + "_fp", F(detection.DetectionRateAtFalsePositives)),
                ("model", modelFile.Name), ("data", data.FullName),
            ]).ToList();
            string page = HtmlReport.Write(reportDir.FullName, $"U-Flow evaluation: {Path.GetFileName(data.FullName.TrimEnd('/'))}", extra, entries,
                "Pixel metrics at 256x256 (METHOD.md Part B). The segmentation is the automatic a-contrario one: pixels with log10 NFA < 0.");
            AnsiConsole.MarkupLine($"report written to [green]{Markup.Escape(page)}[/]");
        }
        AnsiConsole.MarkupLine($"done in {clock.Elapsed.TotalSeconds:0.0} s");
        _ = inputSchema;
        return 0;
    }

    private static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
}
