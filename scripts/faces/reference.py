"""Computes, with dlib itself, what crates/faces is checked against: for each reference photograph, the faces
dlib's frontal detector finds (their boxes), the five landmarks dlib's 5-point shape predictor puts on each, the
150 x 150 face chip dlib aligns from them (padding 0.25), and dlib's 128-number descriptor of that chip.

Usage: python reference.py <folder of photographs> <output folder>
Writes <output>/reference.json, <output>/chips/<photo>.<n>.png and <output>/decoded/<photo>.png (the photo's
pixels as dlib decoded them).
"""

import json
import os
import sys

import dlib
import face_recognition_models as models


def main(photos: str, out: str) -> None:
    detector = dlib.get_frontal_face_detector()
    landmarks = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
    network = dlib.face_recognition_model_v1(models.face_recognition_model_location())
    os.makedirs(os.path.join(out, "chips"), exist_ok=True)
    os.makedirs(os.path.join(out, "decoded"), exist_ok=True)
    reference = {}
    for name in sorted(os.listdir(photos)):
        if not name.endswith(".jpg"):
            continue
        image = dlib.load_rgb_image(os.path.join(photos, name))
        # The pixels as dlib decoded them, kept losslessly, so a check of the computations can start from the very
        # same pixels (JPEG decoders may differ by a level here and there).
        dlib.save_image(image, os.path.join(out, "decoded", name + ".png"))
        faces = []
        for n, box in enumerate(detector(image, 1)):
            shape = landmarks(image, box)
            chip = dlib.get_face_chip(image, shape, size=150, padding=0.25)
            chip_file = f"{name}.{n}.png"
            dlib.save_image(chip, os.path.join(out, "chips", chip_file))
            faces.append(
                {
                    "box": [box.left(), box.top(), box.right(), box.bottom()],
                    "landmarks": [[shape.part(i).x, shape.part(i).y] for i in range(5)],
                    "chip": chip_file,
                    "descriptor": list(network.compute_face_descriptor(chip)),
                }
            )
        reference[name] = {"width": image.shape[1], "height": image.shape[0], "faces": faces}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(
            {
                "dlib": dlib.__version__,
                "five_point_model": models.pose_predictor_five_point_model_location(),
                "photos": reference,
            },
            f,
            indent=1,
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
