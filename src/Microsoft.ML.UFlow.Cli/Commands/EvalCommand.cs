using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Cli.Report;
using Spectre.Console;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Cli.Commands;

/// <summary>
/// <c>uflow eval</c>: scores a test set with a saved model and prints/writes its metrics, optionally with a visual report.
/// The metrics follow what the model produces (found from its components and schema): image AUROC always, pixel metrics
/// from the anomaly map, and mIoU / false alarms of the NFA segmentation only for models that have it (U-Flow, not CS-Flow).
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "The model .zip written by 'uflow train' (U-Flow or CS-Flow).", Required = true };
        var data = new Option<DirectoryInfo>("--data") { Description = "Test data: an MVTec AD category folder, a plain folder, or the MTD folder.", Required = true };
        var json = new Option<FileInfo?>("--json") { Description = "Write the metrics to this JSON file." };
        var report = new Option<DirectoryInfo?>("--report") { Description = "Write an HTML report (index.html + PNGs) into this folder." };
        var cmd = new Command("eval", "Evaluate a saved model: image AUROC, pixel AUROC, AUPRO, pixel F1-max, and for U-Flow mIoU at log NFA < 0 and false alarms.");
        foreach (var o in new Option[] { model, data, json, report }) cmd.Options.Add(o);
        cmd.SetAction(parse => CliErrors.Run(() => Run(parse.GetValue(model)!, parse.GetValue(data)!, parse.GetValue(json), parse.GetValue(report))));
        return cmd;
    }

    private static int Run(FileInfo modelFile, DirectoryInfo data, FileInfo? json, DirectoryInfo? reportDir)
    {
        var clock = Stopwatch.StartNew();
        var ctx = new UFlowContext();
        var model = ctx.Model.Load(modelFile.FullName, out var inputSchema);
        var caps = ModelCapabilities.Of(model, inputSchema, modelFile.FullName);
        var test = ctx.Data.LoadFromDirectory(data.FullName, DataSplit.Test);
        int total = (int)(test.GetRowCount() ?? 0);
        if (total == 0) throw new ArgumentException($"No test images found under '{data.FullName}'.");
        int inputSize = DefaultPipeline.InputSize(model);
        var scored = model.Transform(test);
        scored = ctx.Transforms.LoadMasks(UFlowColumns.GroundTruth, DataCatalog.MaskPathColumn, inputSize, caps.MapSize).Fit(scored).Transform(scored);
        AnsiConsole.MarkupLine($"[bold]uflow eval[/]: {total} test images from {Markup.Escape(data.FullName)} with {Markup.Escape(modelFile.Name)} ({caps.DisplayName})");

        string[] keptColumns =
        [
            DataCatalog.ImagePathColumn, DataCatalog.LabelColumn, DataCatalog.DefectTypeColumn, UFlowColumns.Score, UFlowColumns.PredictedLabel, UFlowColumns.AnomalyMap, UFlowColumns.GroundTruth,
            .. caps.HasNfa ? new[] { UFlowColumns.LogNfa, UFlowColumns.SegmentationMask } : [],
        ];
        var keptSchema = new DataSchema(keptColumns.Select(c => scored.Schema[c]));
        var keptIndex = keptColumns.Select(scored.Schema.IndexOf).ToArray();
        var entries = new List<ReportEntry>();
        string? imagesDir = reportDir is null ? null : Path.Combine(reportDir.FullName, "images");
        if (imagesDir is not null) Directory.CreateDirectory(imagesDir);
        var rows = ConsoleProgress.Run(bars =>
        {
            var kept = new List<object?[]>();
            foreach (var row in scored.GetRows())
            {
                kept.Add(keptIndex.Select(i => row[i]).ToArray());
                if (imagesDir is not null) entries.Add(ReportImages.Write(imagesDir, row, kept.Count - 1, data.FullName, caps));
                bars.Report("evaluate", kept.Count, total);
            }
            return kept;
        });
        var view = ctx.Data.LoadFromRows(keptSchema, rows);
        var metrics = EvalMetrics.Compute(ctx, view, caps);
        var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        foreach (var (name, value) in metrics.Rows) table.AddRow(name, value);
        AnsiConsole.Write(table);
        var typeRows = metrics.DefectTypeTable(out string[] typeHeader);
        var byType = new Table().Title("by defect type");
        foreach (string h in typeHeader) byType.AddColumn(h == typeHeader[0] ? new TableColumn(h) : new TableColumn(h).RightAligned());
        foreach (string[] r in typeRows) byType.AddRow(r.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(byType);
        if (!caps.HasNfa) AnsiConsole.MarkupLine(Markup.Escape(caps.NfaUnavailableLine));

        if (json is not null)
        {
            AtomicFile.WriteAllText(json.FullName, JsonSerializer.Serialize(metrics.Json, new JsonSerializerOptions { WriteIndented = true }));
            AnsiConsole.MarkupLine($"metrics written to [green]{Markup.Escape(json.FullName)}[/]");
        }
        if (reportDir is not null)
        {
            var extra = metrics.Rows.Concat([
                ("detection_rate_at_" + metrics.Detection.FalsePositiveCount + "_fp", EvalMetrics.F(metrics.Detection.DetectionRateAtFalsePositives)),
                ("score_threshold", caps.Threshold.ToString("0.######", CultureInfo.InvariantCulture)),
                ("model", modelFile.Name), ("model_kind", caps.DisplayName), ("data", data.FullName),
            ]).ToList();
            string mapNote = caps.Kind == ModelKind.CsFlow
                ? $"Pixel metrics at {caps.MapSize}x{caps.MapSize} (METHOD.md Part B) of the CS-Flow localisation map: channel-mean z² of the finest latent, bilinearly upsampled (C.4). " +
                  $"Heat maps use the fixed range [0, 4 x score threshold]."
                : $"Pixel metrics at {caps.MapSize}x{caps.MapSize} (METHOD.md Part B). The segmentation is the automatic a-contrario one: pixels with log10 NFA < 0.";
            string[] notes = caps.HasNfa ? [mapNote] : [mapNote, caps.NfaUnavailableLine];
            string page = HtmlReport.Write(reportDir.FullName, $"{caps.DisplayName} evaluation: {Path.GetFileName(data.FullName.TrimEnd('/'))}", extra, entries, (typeHeader, typeRows), notes);
            AnsiConsole.MarkupLine($"report written to [green]{Markup.Escape(page)}[/]");
        }
        AnsiConsole.MarkupLine($"done in {Timing.Describe(clock)}");
        return 0;
    }
}
