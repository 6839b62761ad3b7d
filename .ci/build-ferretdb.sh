#!/usr/bin/env bash
# Builds FerretDB 1.24.2 into $1 (default: $HOME/go/bin/ferretdb).
# `go install …@v1.24.2` compiles, but the binary panics at start because the module ships
# without build/version/version.txt (FerretDB's own build writes it with `task gen-version`).
# So: fetch the module through the Go module proxy, copy it to a scratch directory, write the
# version file, and build there.
set -euo pipefail
out=${1:-$HOME/go/bin/ferretdb}
ver=v1.24.2
if [ -x "$out" ] && "$out" --version 2>/dev/null | grep -q "${ver#v}"; then
  echo "ferretdb $ver already built at $out"; exit 0
fi
scratch=$(mktemp -d)
trap 'chmod -R u+w "$scratch"; rm -rf "$scratch"' EXIT
cd "$scratch"
go mod init scratch >/dev/null 2>&1
GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$ver" > dl.json
src=$(python3 -c 'import json,sys; print(json.load(open("dl.json"))["Dir"])')
cp -r "$src" ferretdb
chmod -R u+w ferretdb
cd ferretdb
echo "$ver" > build/version/version.txt
mkdir -p "$(dirname "$out")"
go build -trimpath -o "$out" ./cmd/ferretdb
"$out" --version | head -3
