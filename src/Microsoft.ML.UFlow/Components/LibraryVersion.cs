using System.Reflection;

namespace Microsoft.ML.UFlow;

/// <summary>This library's version, written into every model it makes.</summary>
public static class LibraryVersion
{
    /// <summary>The informational version of Microsoft.ML.UFlow (e.g. <c>2.0.0</c>).</summary>
    public static string Text { get; } =
        typeof(LibraryVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(LibraryVersion).Assembly.GetName().Version?.ToString() ?? "0.0.0";
}
