"""Times dlib itself describing an aligned face (the 150 x 150 chip given), for the faces benchmark to print beside
the Rust port's time. Usage: python time_dlib.py <chip.png> <runs>. Prints the p50 and p99 in ms."""

import sys
import time

import dlib
import face_recognition_models as models


def main(chip_path: str, runs: int) -> None:
    network = dlib.face_recognition_model_v1(models.face_recognition_model_location())
    chip = dlib.load_rgb_image(chip_path)
    for _ in range(20):
        network.compute_face_descriptor(chip)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        network.compute_face_descriptor(chip)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    print(f"{samples[len(samples) // 2]:.2f} {samples[min(len(samples) - 1, int(len(samples) * 0.99))]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
