#!/usr/bin/env bash
# Takes the face-recognition network's weights from the npm package `@vladmandic/face-api` 1.7.15 (MIT; dlib's
# public-domain `dlib_face_recognition_resnet_model_v1` converted to TensorFlow.js, 8-bit quantised), checks the
# package and the files by SHA-256, and puts them in crates/faces/models/ with the package's licence. Run once by
# hand when the model changes; the files are committed, so building and running need neither npm nor a network.
set -euo pipefail
cd "$(dirname "$0")/../.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @vladmandic/face-api@1.7.15 >/dev/null)
echo "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031  $work/vladmandic-face-api-1.7.15.tgz" | sha256sum -c -
tar -xzf "$work/vladmandic-face-api-1.7.15.tgz" -C "$work"
(cd "$work/package/model" && sha256sum -c -) <<'SUMS'
b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589  face_recognition_model.bin
cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b  face_recognition_model-weights_manifest.json
SUMS
cp "$work/package/model/face_recognition_model.bin" "$work/package/model/face_recognition_model-weights_manifest.json" crates/faces/models/
cp "$work/package/LICENSE" crates/faces/models/LICENSE-face-api
echo "crates/faces/models/ updated from @vladmandic/face-api 1.7.15"
