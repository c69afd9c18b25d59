#!/usr/bin/env bash
# Takes the models crates/faces runs, checks each by SHA-256, and puts them in crates/faces/models/ with their
# licences: the face-recognition network's weights from the npm package `@vladmandic/face-api` 1.7.15 (MIT; dlib's
# public-domain `dlib_face_recognition_resnet_model_v1` converted to TensorFlow.js, 8-bit quantised), then dlib's
# face detector and 5-point shape predictor (below). Run once by hand when a model changes; the files are
# committed, so building and running need neither npm, PyPI nor a network.
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

# dlib's models, from the pinned virtualenv `scripts/faces/reference.sh` makes (dlib-bin and face_recognition_models,
# installed by hash from PyPI): the 5-point shape predictor (CC0, as face_recognition_models' licence says) and the
# frontal face detector, which dlib compiles into itself (Boost Software License) and its Python module saves.
bash scripts/faces/reference.sh
site="$(target/faces/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
target/faces/venv/bin/python -c 'import dlib, sys; dlib.get_frontal_face_detector().save(sys.argv[1])' "$work/frontal_face_detector.dat"
cp "$site/face_recognition_models/models/shape_predictor_5_face_landmarks.dat" "$work/"
(cd "$work" && sha256sum -c -) <<'SUMS'
c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888  shape_predictor_5_face_landmarks.dat
f3f7aa833fb4a14a46fc48689f45b98d85ef72d6dfaf8bdc012b7d3c522a5426  frontal_face_detector.dat
SUMS
cp "$work/shape_predictor_5_face_landmarks.dat" "$work/frontal_face_detector.dat" crates/faces/models/
cp "$site/face_recognition_models-0.3.0.dist-info/licenses/LICENSE" crates/faces/models/LICENSE-face_recognition_models
cp "$site/dlib_bin-20.0.1.post1.dist-info/licenses/LICENSE.txt" crates/faces/models/LICENSE-dlib
echo "crates/faces/models/ updated from dlib-bin 20.0.1.post1 and face_recognition_models 0.3.0"
