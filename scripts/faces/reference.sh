#!/usr/bin/env bash
# Makes the reference crates/faces is tested against (target/faces/reference: dlib's boxes, landmarks, aligned
# chips and descriptors for face_recognition 1.3.0's test photographs), with dlib itself from PyPI, in a
# git-ignored virtualenv under target/faces. Everything downloaded is pinned by SHA-256. Does nothing when the
# reference is already there and newer than this script and its inputs.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/faces
out=target/faces
ref="$out/reference/reference.json"
if [ -f "$ref" ] && [ "$ref" -nt "$here/reference.py" ] && [ "$ref" -nt "$here/requirements.txt" ] && [ "$ref" -nt "$here/build-requirements.txt" ] && [ "$ref" -nt "$here/images.txt" ]; then
  exit 0
fi
mkdir -p "$out"
if [ ! -x "$out/venv/bin/python" ]; then
  python3 -m venv "$out/venv"
fi
"$out/venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes -r "$here/build-requirements.txt"
"$out/venv/bin/pip" install --quiet --disable-pip-version-check --no-build-isolation --require-hashes -r "$here/requirements.txt"
rm -rf "$out/sdist" "$out/photos"
"$out/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: --require-hashes -r "$here/images.txt" -d "$out/sdist"
mkdir -p "$out/photos"
tar -xzf "$out/sdist/face_recognition-1.3.0.tar.gz" -C "$out/sdist"
cp "$out"/sdist/face_recognition-1.3.0/tests/test_images/*.jpg "$out/photos/"
rm -rf "$out/reference"
"$out/venv/bin/python" "$here/reference.py" "$out/photos" "$out/reference"
echo "faces: dlib's reference written to $out/reference"
