"""Times dlib itself, for the faces benchmark to print beside the Rust port's times, in the same run.

Usage:
  python time_dlib.py chip <chip.png> <runs>    describing an aligned 150 x 150 face
  python time_dlib.py detect <photo.png> <runs> finding the faces in a photo (detector(image, 1))
  python time_dlib.py photo <photo.png> <runs>  the whole of face_recognition's default: faces found, landmarks,
                                                aligned face, description
Prints the p50 and p99 in ms."""

import sys
import time

import dlib
import face_recognition_models as models


def timed(runs: int, f) -> None:
    for _ in range(max(2, min(20, runs // 10))):
        f()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    print(f"{samples[len(samples) // 2]:.2f} {samples[min(len(samples) - 1, int(len(samples) * 0.99))]:.2f}")


def main(mode: str, path: str, runs: int) -> None:
    network = dlib.face_recognition_model_v1(models.face_recognition_model_location())
    detector = dlib.get_frontal_face_detector()
    landmarks = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
    image = dlib.load_rgb_image(path)
    if mode == "chip":
        timed(runs, lambda: network.compute_face_descriptor(image))
    elif mode == "detect":
        timed(runs, lambda: detector(image, 1))
    else:

        def whole() -> None:
            for box in detector(image, 1):
                chip = dlib.get_face_chip(image, landmarks(image, box), size=150, padding=0.25)
                network.compute_face_descriptor(chip)

        timed(runs, whole)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
