"""Media files for tests and benchmarks of calls (not part of the product)."""
from __future__ import annotations

import numpy as np


def write_test_video(path: str, width: int = 640, height: int = 480, fps: int = 15, seconds: float = 2.0) -> str:
    """A synthetic video file (moving bars and a frame counter) for an OpenCVCamera without a camera."""
    import cv2
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    try:
        for i in range(int(fps * seconds)):
            image = np.zeros((height, width, 3), np.uint8)
            x = np.arange(width, dtype=np.int32)
            image[:, :, 0] = ((x + i * 8) % 256).astype(np.uint8)
            image[:, :, 1] = 128
            image[:, :, 2] = (np.arange(height, dtype=np.int32)[:, None] * 255 // height).astype(np.uint8)
            cv2.putText(image, f"agent {i}", (20, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
            writer.write(image)
    finally:
        writer.release()
    return path
