// MSBuild inline task (RoslynCodeTaskFactory) of build/TorchSharp.Glibcxx.targets: marks one symbol-version
// requirement of an ELF shared library weak, where the system's libstdc++ does not define that version (or always, for a
// folder that is installed elsewhere).
// ELF64 little-endian only (linux-x64, the one platform TorchSharp ships libLibTorchSharp.so for with this problem).
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class UFlowMarkGlibcxxRequirementWeak : Task
{
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string VersionName { get; set; } = "";
    public bool EvenWhereSystemHasIt { get; set; }

    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;

    // Where Debian, Ubuntu, Fedora and Arch keep the system libstdc++.
    private static readonly string[] s_libstdcxxCandidates =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
    };

    public override bool Execute()
    {
        if (!EvenWhereSystemHasIt && !SystemLacksVersion()) return true;
        foreach (ITaskItem item in Files)
        {
            try
            {
                string path = item.ItemSpec;
                byte[] elf = File.ReadAllBytes(path);
                switch (MarkWeak(elf, VersionName))
                {
                    case PatchResult.Patched:
                        // Write beside it and rename, so that a failed write never leaves a half-patched library.
                        string temp = path + ".uflow-patch.tmp";
                        File.WriteAllBytes(temp, elf);
                        File.Replace(temp, path, null); // rename(2) on Unix
                        Log.LogMessage(MessageImportance.High, EvenWhereSystemHasIt
                            ? $"UFlow: marked {VersionName} weak in {path} (for the machines it is installed on; see DESIGN.md §3)."
                            : $"UFlow: marked {VersionName} weak in {path} (system libstdc++ lacks it; see DESIGN.md §3).");
                        break;
                    case PatchResult.AlreadyWeak:
                        Log.LogMessage(MessageImportance.Low, $"UFlow: {path} already patched.");
                        break;
                    case PatchResult.NotRequired:
                        Log.LogMessage(MessageImportance.Low, $"UFlow: {path} does not require {VersionName}.");
                        break;
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is InvalidDataException)
            {
                Log.LogError($"UFlow: could not mark {VersionName} weak in {item.ItemSpec}: {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    private bool SystemLacksVersion()
    {
        string libstdcxx = Array.Find(s_libstdcxxCandidates, File.Exists);
        if (libstdcxx == null)
        {
            Log.LogMessage(MessageImportance.Low, "UFlow: no system libstdc++.so.6 found; TorchSharp left unpatched.");
            return false;
        }
        // Version names a library defines are NUL-terminated strings of its .dynstr; libstdc++ needs none of its own.
        byte[] wanted = Encoding.ASCII.GetBytes(VersionName + "\0");
        if (IndexOf(File.ReadAllBytes(libstdcxx), wanted) >= 0)
        {
            Log.LogMessage(MessageImportance.Low, $"UFlow: {libstdcxx} defines {VersionName}; TorchSharp needs no patch.");
            return false;
        }
        return true;
    }

    private enum PatchResult { NotRequired, AlreadyWeak, Patched }

    // Walks .gnu.version_r (Elf64_Verneed entries, each with Elf64_Vernaux entries naming one version in .dynstr)
    // and sets VER_FLG_WEAK on the entries named versionName.
    private static PatchResult MarkWeak(byte[] elf, string versionName)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a little-endian ELF64 file");
        long sectionHeaders = (long)BitConverter.ToUInt64(elf, 0x28);
        int sectionHeaderSize = BitConverter.ToUInt16(elf, 0x3A);
        int sectionCount = BitConverter.ToUInt16(elf, 0x3C);
        var result = PatchResult.NotRequired;
        for (int s = 0; s < sectionCount; s++)
        {
            long header = sectionHeaders + (long)s * sectionHeaderSize;
            if (BitConverter.ToUInt32(elf, (int)header + 4) != ShtGnuVerneed) continue;
            long verneed = (long)BitConverter.ToUInt64(elf, (int)header + 0x18);
            int stringSection = (int)BitConverter.ToUInt32(elf, (int)header + 0x28);
            long strings = (long)BitConverter.ToUInt64(elf, (int)(sectionHeaders + (long)stringSection * sectionHeaderSize + 0x18));
            long entry = verneed;
            while (true)
            {
                int auxCount = BitConverter.ToUInt16(elf, (int)entry + 2);
                long aux = entry + BitConverter.ToUInt32(elf, (int)entry + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    long name = strings + BitConverter.ToUInt32(elf, (int)aux + 8);
                    if (ReadString(elf, name) == versionName)
                    {
                        ushort flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                        if ((flags & VerFlagWeak) != 0)
                        {
                            if (result == PatchResult.NotRequired) result = PatchResult.AlreadyWeak;
                        }
                        else
                        {
                            BitConverter.GetBytes((ushort)(flags | VerFlagWeak)).CopyTo(elf, (int)aux + 4);
                            result = PatchResult.Patched;
                        }
                    }
                    uint nextAux = BitConverter.ToUInt32(elf, (int)aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = BitConverter.ToUInt32(elf, (int)entry + 12);
                if (next == 0) break;
                entry += next;
            }
        }
        return result;
    }

    private static string ReadString(byte[] bytes, long start)
    {
        long end = start;
        while (end < bytes.Length && bytes[end] != 0) end++;
        return Encoding.ASCII.GetString(bytes, (int)start, (int)(end - start));
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
}
