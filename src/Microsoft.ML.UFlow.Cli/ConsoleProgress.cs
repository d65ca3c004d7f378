using Spectre.Console;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>Spectre.Console progress bars (description, bar, percentage, elapsed, remaining time) for long CLI phases.</summary>
internal static class ConsoleProgress
{
    /// <summary>Runs <paramref name="work"/> with a live progress display; bars are created on demand by name.</summary>
    public static T Run<T>(Func<ProgressBars, T> work)
    {
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => { result = work(new ProgressBars(ctx)); });
        return result;
    }
}

/// <summary>Named progress bars inside one <see cref="ConsoleProgress.Run{T}"/>; reporting is synchronous (no thread hops).</summary>
internal sealed class ProgressBars(ProgressContext context)
{
    private readonly Dictionary<string, ProgressTask> _tasks = [];

    /// <summary>Sets bar <paramref name="name"/> to <paramref name="done"/> of <paramref name="total"/>, with an optional note.</summary>
    public void Report(string name, int done, int total, string? note = null)
    {
        if (!_tasks.TryGetValue(name, out var task))
        {
            task = context.AddTask(Markup.Escape(name), autoStart: true, maxValue: Math.Max(1, total));
            _tasks[name] = task;
        }
        if (total > 0) task.MaxValue = total;
        task.Value = done;
        task.Description = Markup.Escape(note is null ? name : $"{name} {note}");
        if (total > 0 && done >= total) task.StopTask();
    }
}
