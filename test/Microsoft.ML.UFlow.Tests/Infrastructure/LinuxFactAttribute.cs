namespace Microsoft.ML.UFlow.Tests.Infrastructure;

/// <summary>A fact that needs Linux (for example /proc); skipped, with the reason, elsewhere.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute.</summary>
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "Linux only.";
    }
}
