using System.IO.Compression;
using System.Xml.Linq;

namespace Microsoft.ML.UFlow.Tests.Packaging;

/// <summary>What a .nupkg holds: its file names and the metadata of its .nuspec.</summary>
internal sealed class NuGetPackage
{
    private NuGetPackage(string[] files, XElement metadata)
    {
        Files = files;
        Metadata = metadata;
    }

    /// <summary>The paths inside the package, with '/' separators.</summary>
    public string[] Files { get; }

    /// <summary>The nuspec's &lt;metadata&gt; element.</summary>
    public XElement Metadata { get; }

    /// <summary>The ids of every dependency, whatever its target framework group.</summary>
    public string[] DependencyIds => Metadata.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string)e.Attribute("id")!).ToArray();

    /// <summary>The value of the metadata element <paramref name="name"/>, or null.</summary>
    public XElement? Element(string name) => Metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name);

    /// <summary>Reads the package at <paramref name="path"/>.</summary>
    public static NuGetPackage Read(string path)
    {
        using ZipArchive zip = ZipFile.OpenRead(path);
        string[] files = zip.Entries.Select(e => e.FullName).ToArray();
        ZipArchiveEntry nuspec = zip.Entries.Single(e => !e.FullName.Contains('/') && e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using Stream stream = nuspec.Open();
        XElement metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        return new NuGetPackage(files, metadata);
    }
}
