using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.ML.UFlow.Data;

namespace Microsoft.ML.UFlow.Cli.Report;

/// <summary>
/// Writes the visual evaluation report: <c>index.html</c> with the metric table and, for each test image, the input, the
/// ground-truth contour, the anomaly heat-map overlay and, for models that have it, the NFA segmentation contour (PNG
/// files beside the page). The page is static (no script, no external resource), so it opens from disk and in headless browsers.
/// </summary>
internal static class HtmlReport
{
    /// <summary>
    /// Writes <c>index.html</c> atomically; <paramref name="notes"/> are paragraphs shown under the title, and
    /// <paramref name="breakdown"/> (a header and its rows, e.g. the metrics per defect type) a second table under the metrics.
    /// </summary>
    public static string Write(string directory, string title, IReadOnlyList<(string Name, string Value)> metrics, IReadOnlyList<ReportEntry> entries,
        (string[] Header, IReadOnlyList<string[]> Rows)? breakdown, params IReadOnlyList<string> notes)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(Enc(title)).Append("</title>\n<style>\n")
            .Append("body{font-family:sans-serif;margin:16px;background:#fafafa;color:#222}\n")
            .Append("table.metrics{border-collapse:collapse;margin-bottom:16px}table.metrics td,table.metrics th{border:1px solid #bbb;padding:4px 10px;text-align:left}\n")
            .Append("table.metrics td.v{text-align:right;font-family:monospace}\n")
            .Append(".legend{margin:8px 0 16px 0;font-size:14px}.gt{color:#00c800;font-weight:bold}.nfa{color:#ff3030;font-weight:bold}\n")
            .Append(".row{display:flex;gap:6px;align-items:flex-start;margin-bottom:10px;padding:6px;background:#fff;border:1px solid #ddd}\n")
            .Append(".row.anomalous{border-left:6px solid #d33}.row.normal{border-left:6px solid #3a3}\n")
            .Append(".row figure{margin:0}.row img{height:192px;width:auto;image-rendering:auto;display:block}\n")
            .Append(".row figcaption{font-size:11px;color:#555;text-align:center}.info{font-size:13px;min-width:190px;font-family:monospace;white-space:pre}\n")
            .Append("</style></head><body>\n");
        html.Append("<h1>").Append(Enc(title)).Append("</h1>\n");
        foreach (string note in notes) html.Append("<p>").Append(Enc(note)).Append("</p>\n");
        html.Append("<table class=\"metrics\"><tr><th>metric</th><th>value</th></tr>\n");
        foreach (var (name, value) in metrics) html.Append("<tr><td>").Append(Enc(name)).Append("</td><td class=\"v\">").Append(Enc(value)).Append("</td></tr>\n");
        html.Append("</table>\n");
        if (breakdown is { } table)
        {
            html.Append("<table class=\"metrics\"><tr>");
            foreach (string h in table.Header) html.Append("<th>").Append(Enc(h)).Append("</th>");
            html.Append("</tr>\n");
            foreach (string[] row in table.Rows)
            {
                html.Append("<tr><td>").Append(Enc(row[0])).Append("</td>");
                foreach (string v in row.Skip(1)) html.Append("<td class=\"v\">").Append(Enc(v)).Append("</td>");
                html.Append("</tr>\n");
            }
            html.Append("</table>\n");
        }
        bool hasNfa = entries.Any(e => e.NfaPng is not null);
        html.Append("<div class=\"legend\">Columns: input · <span class=\"gt\">ground-truth contour</span> · anomaly heat map (jet, blue = low, red = high)")
            .Append(hasNfa ? " · <span class=\"nfa\">NFA segmentation contour</span> (log10 NFA &lt; 0).</div>\n" : ".</div>\n");
        foreach (var e in entries)
        {
            html.Append("<div class=\"row ").Append(e.IsAnomalous ? "anomalous" : "normal").Append("\">")
                .Append("<div class=\"info\">").Append(Enc(e.Name)).Append('\n')
                .Append("group: ").Append(Enc(e.Group)).Append('\n')
                .Append("label: ").Append(e.IsAnomalous ? "anomalous" : "normal").Append('\n')
                .Append("score: ").Append(F(e.Score)).Append('\n')
                .Append("predicted: ").Append(e.PredictedAnomalous ? "anomalous" : "normal");
            if (e.MaxNegativeLog10Nfa is float nfa) html.Append('\n').Append("max -log10 NFA: ").Append(F(nfa));
            if (e.DetectedPixels is int detected) html.Append('\n').Append("detected pixels: ").Append(detected.ToString(CultureInfo.InvariantCulture));
            html.Append("</div>");
            Figure(html, e.InputPng, "input");
            Figure(html, e.GroundTruthPng, "ground truth");
            Figure(html, e.HeatMapPng, "anomaly map");
            if (e.NfaPng is not null) Figure(html, e.NfaPng, "NFA segmentation");
            html.Append("</div>\n");
        }
        html.Append("</body></html>\n");
        string path = Path.Combine(directory, "index.html");
        AtomicFile.WriteAllText(path, html.ToString());
        return path;
    }

    private static void Figure(StringBuilder html, string src, string caption)
        => html.Append("<figure><img src=\"").Append(Enc(src.Replace('\\', '/'))).Append("\" alt=\"").Append(Enc(caption)).Append("\"><figcaption>").Append(Enc(caption)).Append("</figcaption></figure>");

    private static string F(float v) => v.ToString("0.####", CultureInfo.InvariantCulture);

    private static string Enc(string s) => WebUtility.HtmlEncode(s);
}
