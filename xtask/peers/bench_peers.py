"""The peer side of `cargo xtask bench-peers`: the benchmark cases of session 02, done by
Pillow, OpenCV and libvips on the same frame with the same parameters, one thread each.

Prints one JSON object per library and case: {"library", "name", "median_ms", "min_ms"},
with "output_bytes" for an encoding, or "skipped" with the reason when the library has no
such operation. Encoders run at each library's defaults (JPEG at quality 90).
"""

import argparse
import io
import json
import os
import statistics
import sys
import time

os.environ.setdefault("VIPS_CONCURRENCY", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import cv2  # noqa: E402
from PIL import Image, ImageEnhance, ImageFilter, ImageOps  # noqa: E402

try:
    import pyvips  # noqa: E402
except Exception as error:  # pragma: no cover - reported in the table
    pyvips = None
    VIPS_ERROR = str(error)

cv2.setNumThreads(1)

CONTRAST_LUT = np.array(
    [min(255, max(0, round(128 + (v - 128) * 1.5))) for v in range(256)], dtype=np.uint8
)
SHARPEN = [0, -1, 0, -1, 5, -1, 0, -1, 0]


def pillow_cases(frame, jpeg, png):
    gray3 = lambda im: im.convert("L").convert("RGB")

    def save(**options):
        out = io.BytesIO()
        frame.save(out, **options)
        return out.getvalue()

    return {
        "copy": lambda: frame.copy(),
        "grayscale": lambda: gray3(frame),
        "brightness": lambda: ImageEnhance.Brightness(frame).enhance(1.5),
        "contrast": lambda: frame.point(list(CONTRAST_LUT) * 3),
        "invert": lambda: ImageOps.invert(frame),
        "threshold": lambda: frame.convert("L").point(lambda v: 255 if v >= 128 else 0).convert("RGB"),
        "blur": lambda: frame.filter(ImageFilter.GaussianBlur(3)),
        "box-blur": lambda: frame.filter(ImageFilter.BoxBlur(3)),
        "sharpen": lambda: frame.filter(ImageFilter.Kernel((3, 3), SHARPEN, scale=1)),
        "unsharp": lambda: frame.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=3)),
        "edges": None,
        "median": lambda: frame.filter(ImageFilter.MedianFilter(3)),
        "resize": lambda: frame.resize((1920, 1080), Image.LANCZOS),
        "rotate": lambda: frame.transpose(Image.Transpose.ROTATE_270),
        "flip": lambda: frame.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "crop": lambda: frame.crop((960, 540, 2880, 1620)).load(),
        "jpeg-decode": lambda: Image.open(io.BytesIO(jpeg)).load(),
        "jpeg-encode": lambda: save(format="JPEG", quality=90),
        "png-decode": lambda: Image.open(io.BytesIO(png)).load(),
        "png-encode": lambda: save(format="PNG"),
    }


def opencv_cases(frame, jpeg, png):
    arr = np.ascontiguousarray(np.asarray(frame))
    replicate = cv2.BORDER_REPLICATE
    buffer = np.frombuffer(jpeg, dtype=np.uint8)
    png_buffer = np.frombuffer(png, dtype=np.uint8)

    def gray3(a):
        return cv2.cvtColor(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)

    def threshold():
        gray = cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)
        _, bw = cv2.threshold(gray, 127, 255, cv2.THRESH_BINARY)
        return cv2.cvtColor(bw, cv2.COLOR_GRAY2RGB)

    def unsharp():
        soft = cv2.GaussianBlur(arr, (13, 13), 2, borderType=replicate)
        return cv2.addWeighted(arr, 2.5, soft, -1.5, 0)

    def edges():
        gray = cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)
        gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, borderType=replicate)
        gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, borderType=replicate)
        magnitude = cv2.convertScaleAbs(cv2.magnitude(gx, gy), alpha=0.25)
        return cv2.cvtColor(magnitude, cv2.COLOR_GRAY2RGB)

    kernel = np.array(SHARPEN, dtype=np.float32).reshape(3, 3)
    return {
        "copy": lambda: arr.copy(),
        "grayscale": lambda: gray3(arr),
        "brightness": lambda: cv2.convertScaleAbs(arr, alpha=1.5),
        "contrast": lambda: cv2.LUT(arr, CONTRAST_LUT),
        "invert": lambda: cv2.bitwise_not(arr),
        "threshold": threshold,
        "blur": lambda: cv2.GaussianBlur(arr, (19, 19), 3, borderType=replicate),
        "box-blur": lambda: cv2.blur(arr, (7, 7), borderType=replicate),
        "sharpen": lambda: cv2.filter2D(arr, -1, kernel, borderType=replicate),
        "unsharp": unsharp,
        "edges": edges,
        "median": lambda: cv2.medianBlur(arr, 3),
        "resize": lambda: cv2.resize(arr, (1920, 1080), interpolation=cv2.INTER_LANCZOS4),
        "rotate": lambda: cv2.rotate(arr, cv2.ROTATE_90_CLOCKWISE),
        "flip": lambda: cv2.flip(arr, 1),
        "crop": lambda: arr[540:1620, 960:2880].copy(),
        "jpeg-decode": lambda: cv2.imdecode(buffer, cv2.IMREAD_COLOR),
        "jpeg-encode": lambda: cv2.imencode(".jpg", arr, [cv2.IMWRITE_JPEG_QUALITY, 90])[1],
        "png-decode": lambda: cv2.imdecode(png_buffer, cv2.IMREAD_COLOR),
        "png-encode": lambda: cv2.imencode(".png", arr)[1],
    }


def vips_cases(path, jpeg, png):
    frame = pyvips.Image.new_from_file(path, access="random").copy_memory()

    def run(image):
        return image.write_to_memory()

    def gray3(image):
        gray = image.colourspace("b-w")
        return gray.bandjoin([gray, gray])

    box = pyvips.Image.new_from_array([[1] * 7], scale=7)
    sharpen = pyvips.Image.new_from_array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    return {
        "copy": lambda: run(frame.copy()),
        "grayscale": lambda: run(gray3(frame)),
        "brightness": lambda: run((frame * 1.5).cast("uchar")),
        "contrast": lambda: run(frame.linear(1.5, -64).cast("uchar")),
        "invert": lambda: run(frame.invert()),
        "threshold": lambda: run(gray3((frame.colourspace("b-w") >= 128))),
        "blur": lambda: run(frame.gaussblur(3, precision="integer")),
        "box-blur": lambda: run(frame.convsep(box, precision="integer")),
        "sharpen": lambda: run(frame.conv(sharpen, precision="integer")),
        "unsharp": None,
        "edges": lambda: run(gray3(frame.colourspace("b-w").sobel())),
        "median": lambda: run(frame.median(3)),
        "resize": lambda: run(frame.resize(0.5, kernel="lanczos3")),
        "rotate": lambda: run(frame.rot90()),
        "flip": lambda: run(frame.fliphor()),
        "crop": lambda: run(frame.crop(960, 540, 1920, 1080)),
        "jpeg-decode": lambda: run(pyvips.Image.new_from_buffer(jpeg, "")),
        "jpeg-encode": lambda: frame.jpegsave_buffer(Q=90),
        "png-decode": lambda: run(pyvips.Image.new_from_buffer(png, "")),
        "png-encode": lambda: frame.pngsave_buffer(),
    }


# Untimed runs of each case before its timed ones: the same 0.2 s as `bench`'s WARM_UP.
WARM_UP_S = 0.2


def time_case(task, runs):
    """Median and fastest ms of `runs` timed runs after WARM_UP_S seconds of untimed ones (at
    least one, as the Rust benchmark does), and the last untimed run's result."""
    started = time.perf_counter()
    while True:
        result = task()
        if time.perf_counter() - started >= WARM_UP_S:
            break
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        task()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times), min(times), result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frame-dir", required=True)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--library", action="append", default=[])
    parser.add_argument("--case", action="append", default=[])
    args = parser.parse_args()

    path = os.path.join(args.frame_dir, "frame.png")
    with open(os.path.join(args.frame_dir, "frame.jpg"), "rb") as file:
        jpeg = file.read()
    with open(path, "rb") as file:
        png = file.read()
    frame = Image.open(path).convert("RGB")
    frame.load()

    libraries = {
        "Pillow " + Image.__version__: lambda: pillow_cases(frame, jpeg, png),
        "OpenCV " + cv2.__version__: lambda: opencv_cases(frame, jpeg, png),
    }
    if pyvips is not None:
        version = ".".join(str(pyvips.version(i)) for i in range(3))
        libraries["libvips " + version] = lambda: vips_cases(path, jpeg, png)
    elif not args.library or any("libvips".startswith(l.lower()) for l in args.library):
        print(json.dumps({"library": "libvips", "name": "*", "skipped": VIPS_ERROR}))

    for library, make in libraries.items():
        if args.library and not any(library.lower().startswith(l.lower()) for l in args.library):
            continue
        for name, task in make().items():
            if args.case and name not in args.case:
                continue
            row = {"library": library, "name": name}
            if task is None:
                row["skipped"] = "no such operation"
            else:
                try:
                    row["median_ms"], row["min_ms"], result = time_case(task, args.runs)
                    if name.endswith("-encode"):
                        row["output_bytes"] = len(result)
                except Exception as error:
                    row["skipped"] = f"failed: {error}"
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    sys.exit(main())
