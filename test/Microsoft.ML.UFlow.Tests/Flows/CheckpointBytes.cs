namespace Microsoft.ML.UFlow.Tests.Flows;

/// <summary>Byte surgery on training checkpoints, to make the files of an older format version.</summary>
internal static class CheckpointBytes
{
    /// <summary>
    /// Turns a format-2 checkpoint into the format-1 file of the same state: version 1, and without the feature summary
    /// (a presence flag, a count and that many doubles) that format 2 added at <paramref name="summaryOffset"/>.
    /// </summary>
    public static byte[] ToVersion1(byte[] version2, int summaryOffset)
    {
        Assert.Equal(2, BitConverter.ToInt32(version2, 8));
        Assert.Equal(1, version2[summaryOffset]);
        int length = 1 + 4 + 8 * BitConverter.ToInt32(version2, summaryOffset + 1);
        byte[] version1 = [.. version2[..summaryOffset], .. version2[(summaryOffset + length)..]];
        BitConverter.GetBytes(1).CopyTo(version1, 8);
        return version1;
    }
}
