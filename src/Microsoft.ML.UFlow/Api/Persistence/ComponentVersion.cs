namespace Microsoft.ML.UFlow.Api.Persistence;

/// <summary>
/// The versioning of one saved component (ML.NET's <c>VersionInfo</c>): a model signature that identifies the format,
/// the version written, and the oldest reader version that can still read it. A reader whose own version is below
/// <see cref="MinReadableVersion"/> refuses the entry with a clear message.
/// </summary>
/// <param name="Signature">A short fixed identifier of the entry format (for example <c>UFLOWSCR</c>).</param>
/// <param name="Version">The version this library writes (and the highest it reads).</param>
/// <param name="MinReadableVersion">The oldest reader version able to read what this version writes.</param>
public sealed record ComponentVersion(string Signature, int Version, int MinReadableVersion);
