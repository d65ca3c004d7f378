using Microsoft.ML.UFlow.Data;

namespace Microsoft.ML.UFlow.Tests.Data;

/// <summary>Atomic saves: the folder is made, the new content replaces the old whole, a failing writer leaves the old file and no temporary file.</summary>
public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("uflow-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WritesIntoANewFolderAndReplacesTheOldContent()
    {
        string path = Path.Combine(_dir, "a", "b", "file.txt");
        AtomicFile.WriteAllText(path, "first, longer content");
        AtomicFile.WriteAllText(path, "second é");
        Assert.Equal("second é", File.ReadAllText(path));
        Assert.Equal(9, new FileInfo(path).Length); // UTF-8, no byte-order mark
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void AFailingWriterLeavesTheOldFileAndNoTemporaryFile()
    {
        string path = Path.Combine(_dir, "model.bin");
        AtomicFile.Write(path, s => s.Write([1, 2, 3]));
        var e = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write([9, 9, 9, 9, 9]);
            throw new InvalidOperationException("disk full (simulated)");
        }));
        Assert.Equal("disk full (simulated)", e.Message);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }
}
