#!/usr/bin/env bash
# Build and test the Go package offline, from a copy in the build tree:
# generate the SWIG layer, go vet, go test, then build and run the Go
# examples (examples/go) through tests/examples.sh.
# Usage: gotest.sh SOURCE_ROOT BUILD_ROOT
set -euo pipefail
src=$1 build=$2
work=$build/bindings/go-work
rm -rf "$work"
mkdir -p "$work/bindings"
mkdir -p "$work/examples"
cp -r "$src/bindings/go" "$src/bindings/shim" "$work/bindings/"
cp -r "$src/examples/go" "$work/examples/"
rm -f "$work/bindings/go/internal/capi/capi.go" "$work/bindings/go/internal/capi/capi_wrap.c"
# Go's build cache keys cgo on the package's own files, not on what they
# #include: stamp the shared shim's hash into shim.c so a changed shim is
# recompiled instead of served stale from the cache.
echo "/* shim $(cat "$src"/bindings/shim/* | sha256sum | cut -c1-16) */" >> "$work/bindings/go/internal/capi/shim.c"
cd "$work/bindings/go"
export GOPROXY=off GOFLAGS=-mod=mod GO111MODULE=on
export GOCACHE=$build/bindings/go-cache GOPATH=$build/bindings/go-path
export PKG_CONFIG_PATH=$build/meson-uninstalled
export LD_LIBRARY_PATH=$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export APF_SOURCE_DIR=$src
(cd internal/capi && go generate ./...)
go vet -unsafeptr=false ./...
go test -count=1 -v ./...
# The Go examples, built and run like the C and Python ones.
cd "$work/examples/go"
go vet ./...
go build -o "$work/bin/" ./...
"$src/tests/examples.sh" go "$work/bin" "${APF_MODELS_DIR:-$src/models}" "$src"
