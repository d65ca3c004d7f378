#!/usr/bin/python3
"""Golden fixtures for the Imaging layer, produced with Debian's python3-pil (Pillow 9.4) and torch.

Run from the repository root:   /usr/bin/python3 test/golden/imaging_make_fixtures.py [path/to/shared]

Writes test/Microsoft.ML.UFlow.Tests/Fixtures/Imaging/:
  png/*.png, bmp/*.bmp     tiny synthetic files covering every PNG colour type / bit depth / interlace / tRNS and
                           the BMP variants Pillow writes; the PNGs are written by the small raw encoder below (so
                           every filter type and Adam7 appear), the expected pixels come from PIL decoding them.
  synthetic.json           per synthetic file: the PIL-decoded pixels (hex) in the mode the C# decoder returns.
  resize.json              PIL bilinear (antialiased) resizes of seeded random images, full outputs (hex).
  real_decode.tsv          per real image under <shared>/data: size, channels, SHA-256 of PIL's pixel buffer and,
                           for JPEG, a few seeded sample pixels.
  real_resize.tsv          PIL resizes of real bottle images / masks: SHA-256 of the output plus seeded samples.
  normalize.json           torch (x/255 - mean)/std on a tiny image, float32 bit patterns.
  jet.json                 matplotlib's 'jet' colour map sampled at 256 points (uint8).

The C# decoder returns, per source: PNG grey -> L (PIL's convert('L'), so 16-bit grey is clipped to 255 like PIL's
I -> L), grey+alpha -> LA, RGB -> RGB, palette -> RGB, or RGBA when it has a tRNS chunk, RGBA -> RGBA; JPEG grey -> L,
colour -> RGB; BMP palette -> RGB unless the palette is PIL's identity grey ramp (then L).
"""
import hashlib
import io
import json
import os
import random
import struct
import sys
import zlib

import numpy as np
from PIL import Image

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "test", "Microsoft.ML.UFlow.Tests", "Fixtures", "Imaging")
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared")

CHANNELS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}


def sha16(buf):
    return hashlib.sha256(buf).hexdigest()[:16]


# ---------------------------------------------------------------- raw PNG writer (for synthetic test files)
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows, bpp, rng):
    """Applies a random PNG filter to each scanline (rows: list of bytes); returns the filtered stream."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for row in rows:
        ftype = rng.randrange(5)
        f = bytearray(len(row))
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][ftype]
            f[i] = (x - pred) & 0xFF
        out.append(ftype)
        out += f
        prev = row
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def pack_row(samples, bit_depth):
    """samples: flat list of ints for one scanline (already per-sample); packs to bytes."""
    if bit_depth == 8:
        return bytes(samples)
    if bit_depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    per = 8 // bit_depth
    out = bytearray()
    for i in range(0, len(samples), per):
        byte = 0
        for j in range(per):
            v = samples[i + j] if i + j < len(samples) else 0
            byte |= v << (8 - bit_depth * (j + 1))
        out.append(byte)
    return bytes(out)


def make_png(width, height, color_type, bit_depth, interlace, rng, plte=None, trns=None, split_idat=False):
    spp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    maxv = (1 << bit_depth) - 1
    if color_type == 3:
        maxv = min(maxv, len(plte) // 3 - 1)
    pix = [[[rng.randint(0, maxv) for _ in range(spp)] for _ in range(width)] for _ in range(height)]
    # Make a few extreme values appear for sure.
    pix[0][0] = [maxv] * spp
    bits = bit_depth * spp
    bpp = max(1, bits // 8)

    def scan(xs, ys):
        rows = []
        for y in ys:
            samples = [s for x in xs for s in pix[y][x]]
            rows.append(pack_row(samples, bit_depth))
        return rows

    raw = b""
    if interlace == 0:
        raw = filter_rows(scan(range(width), range(height)), bpp, rng)
    else:
        for (x0, y0, dx, dy) in ADAM7:
            xs = list(range(x0, width, dx))
            ys = list(range(y0, height, dy))
            if xs and ys:
                raw += filter_rows(scan(xs, ys), bpp, rng)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace))
    data += chunk(b"tEXt", b"Comment\x00synthetic")
    if plte is not None:
        data += chunk(b"PLTE", plte)
    if trns is not None:
        data += chunk(b"tRNS", trns)
    z = zlib.compress(raw, 9)
    if split_idat and len(z) > 4:
        third = len(z) // 3
        data += chunk(b"IDAT", z[:third]) + chunk(b"IDAT", z[third:2 * third]) + chunk(b"IDAT", z[2 * third:])
    else:
        data += chunk(b"IDAT", z)
    data += chunk(b"IEND", b"")
    return data


def png_target_mode(png_bytes, im):
    color_type = png_bytes[25]
    if color_type == 0:
        return "L"
    if color_type == 2:
        return "RGB"
    if color_type == 3:
        return "RGBA" if "transparency" in im.info else "RGB"
    if color_type == 4:
        return "LA"
    return "RGBA"


def bmp_target_mode(im):
    if im.mode in ("1", "L"):
        return "L"
    if im.mode == "P":
        return "RGB"
    return im.mode


def expected_entry(name, im, mode):
    arr = np.ascontiguousarray(np.asarray(im.convert(mode)), dtype=np.uint8)
    return {"name": name, "width": im.size[0], "height": im.size[1], "channels": CHANNELS[mode], "pixels": arr.tobytes().hex()}


def synthetic(rng):
    os.makedirs(os.path.join(OUT, "png"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "bmp"), exist_ok=True)
    entries = []
    combos = [(0, 1), (0, 2), (0, 4), (0, 8), (0, 16), (2, 8), (2, 16), (3, 1), (3, 2), (3, 4), (3, 8),
              (4, 8), (4, 16), (6, 8), (6, 16)]
    sizes = [(1, 1), (3, 2), (13, 7), (33, 17)]
    for color_type, bit_depth in combos:
        for interlace in (0, 1):
            for (w, h) in sizes:
                variants = [None]
                if color_type == 3:
                    variants = ["plain", "trns", "short"]
                if color_type in (0, 2) and bit_depth == 8 and (w, h) == (13, 7):
                    variants = [None, "trns"]
                for variant in variants:
                    plte = trns = None
                    if color_type == 3:
                        n = (1 << bit_depth) if variant != "short" else max(2, (1 << bit_depth) // 2 + 1)
                        plte = bytes(rng.randrange(256) for _ in range(3 * n))
                        if variant == "trns":
                            trns = bytes(rng.randrange(256) for _ in range(max(1, n // 2)))
                    elif variant == "trns":
                        trns = struct.pack(">H", 7) if color_type == 0 else struct.pack(">HHH", 1, 2, 3)
                    data = make_png(w, h, color_type, bit_depth, interlace, rng, plte, trns, split_idat=(w == 33))
                    name = f"ct{color_type}_bd{bit_depth}_i{interlace}_{w}x{h}" + (f"_{variant}" if variant else "") + ".png"
                    with open(os.path.join(OUT, "png", name), "wb") as f:
                        f.write(data)
                    im = Image.open(io.BytesIO(data))
                    im.load()
                    entries.append(expected_entry("png/" + name, im, png_target_mode(data, im)))
    # BMPs written by Pillow itself.
    arr = np.array([[rng.randrange(256) for _ in range(3 * 11)] for _ in range(6)], dtype=np.uint8).reshape(6, 11, 3)
    rgb = Image.fromarray(arr, "RGB")
    bmps = {
        "rgb24.bmp": rgb,
        "grey8.bmp": rgb.convert("L"),
        "mono1.bmp": rgb.convert("L").point(lambda v: 255 if v > 127 else 0).convert("1"),
        "pal8.bmp": rgb.convert("P", palette=Image.ADAPTIVE, colors=13),
    }
    for name, img in bmps.items():
        path = os.path.join(OUT, "bmp", name)
        img.save(path, "BMP")
        im = Image.open(path)
        im.load()
        entries.append(expected_entry("bmp/" + name, im, bmp_target_mode(im)))
    # Hand-written variants Pillow reads but does not write: top-down 24-bit, 32-bit BI_RGB, 16-bit 5-5-5,
    # 32-bit BI_BITFIELDS with alpha (V4 header), 4-bit palette.
    def bmp_file(w, h, bpp, pixel_rows, header_size=40, compression=0, masks=None, palette=None, top_down=False):
        stride = ((w * bpp + 31) // 32) * 4
        body = b"".join(r + bytes(stride - len(r)) for r in pixel_rows)
        pal = b"" if palette is None else b"".join(bytes((b, g, r, 0)) for (r, g, b) in palette)
        info = struct.pack("<IiiHHIIiiII", header_size, w, -h if top_down else h, 1, bpp, compression, len(body), 2835, 2835,
                           0 if palette is None else len(palette), 0)
        if header_size >= 52:
            info += struct.pack("<III", *masks[:3])
        if header_size >= 56:
            info += struct.pack("<I", masks[3])
        if header_size > len(info):
            info += bytes(header_size - len(info))
        off = 14 + len(info) + len(pal)
        return b"BM" + struct.pack("<IHHI", off + len(body), 0, 0, off) + info + pal + body

    w, h = 7, 5
    px = [[tuple(rng.randrange(256) for _ in range(4)) for _ in range(w)] for _ in range(h)]
    def rows(fn, order):
        return [b"".join(fn(p) for p in px[y]) for y in order]
    up = list(range(h - 1, -1, -1))
    hand = {
        "topdown24.bmp": bmp_file(w, h, 24, rows(lambda p: bytes((p[2], p[1], p[0])), range(h)), top_down=True),
        "rgb32.bmp": bmp_file(w, h, 32, rows(lambda p: bytes((p[2], p[1], p[0], p[3])), up)),
        "rgb555.bmp": bmp_file(w, h, 16, rows(lambda p: struct.pack("<H", ((p[0] >> 3) << 10) | ((p[1] >> 3) << 5) | (p[2] >> 3)), up)),
        "rgba32_v4.bmp": bmp_file(w, h, 32, rows(lambda p: bytes((p[2], p[1], p[0], p[3])), up), header_size=108, compression=3,
                                  masks=(0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)),
    }
    pal16 = [tuple(rng.randrange(256) for _ in range(3)) for _ in range(16)]
    idx = [[rng.randrange(16) for _ in range(w)] for _ in range(h)]
    def pack4(r):
        r = r + [0]
        return bytes((r[i] << 4) | r[i + 1] for i in range(0, len(r) - 1, 2))
    hand["pal4.bmp"] = bmp_file(w, h, 4, [pack4(idx[y]) for y in up], palette=pal16)
    for name, data in hand.items():
        path = os.path.join(OUT, "bmp", name)
        with open(path, "wb") as f:
            f.write(data)
        im = Image.open(path)
        im.load()
        entries.append(expected_entry("bmp/" + name, im, bmp_target_mode(im)))
    with open(os.path.join(OUT, "synthetic.json"), "w") as f:
        json.dump(entries, f, indent=0)
    print(f"synthetic: {len(entries)} files")


# ---------------------------------------------------------------- resize (PIL bilinear, antialiased on reduction)
def resize_cases(rng):
    os.makedirs(os.path.join(OUT, "resize"), exist_ok=True)
    cases = []
    shapes = [((37, 23), [(11, 7), (36, 22), (19, 23), (37, 5), (74, 46), (50, 30), (1, 1), (5, 40)]),
              ((64, 64), [(32, 32), (28, 28), (13, 13), (63, 63), (64, 17)]),
              ((90, 60), [(45, 30), (44, 29), (7, 9)])]
    for mode in ("L", "RGB"):
        for (w, h), targets in shapes:
            nch = CHANNELS[mode]
            # Smooth gradients plus noise and a few saturated spots so that clipping paths are exercised.
            yy, xx = np.mgrid[0:h, 0:w]
            base = (xx * 255 // max(1, w - 1) + yy * 3) % 256
            arr = np.stack([(base + 40 * c) % 256 for c in range(nch)], axis=-1).astype(np.int32)
            noise = np.array([rng.randrange(-60, 61) for _ in range(h * w * nch)]).reshape(h, w, nch)
            arr = np.clip(arr + noise, 0, 255).astype(np.uint8)
            arr[h // 2, :, :] = 255
            arr[:, w // 3, :] = 0
            img = Image.fromarray(arr[:, :, 0] if nch == 1 else arr, mode)
            src_name = f"resize/src_{mode}_{w}x{h}.png"
            img.save(os.path.join(OUT, src_name))
            for (tw, th) in targets:
                out = np.asarray(img.resize((tw, th), Image.BILINEAR))
                cases.append({"source": src_name, "width": tw, "height": th, "channels": nch, "pixels": out.tobytes().hex()})
    with open(os.path.join(OUT, "resize.json"), "w") as f:
        json.dump(cases, f, indent=0)
    print(f"resize: {len(cases)} cases")


# ---------------------------------------------------------------- real data
def real(rng):
    data = os.path.join(SHARED, "data")
    files = []
    for root, _, names in os.walk(data):
        for n in names:
            if n.lower().endswith((".png", ".jpg", ".jpeg", ".bmp")):
                files.append(os.path.relpath(os.path.join(root, n), data))
    files.sort()
    lines = ["# relative path under <shared>/data, width, height, channels, sha256[:16] of PIL's pixels, samples x:y:c:v (JPEG only)"]
    for rel in files:
        path = os.path.join(data, rel)
        im = Image.open(path)
        im.load()
        if rel.lower().endswith(".png"):
            with open(path, "rb") as f:
                head = f.read(32)
            mode = png_target_mode(head, im)
        elif rel.lower().endswith(".bmp"):
            mode = bmp_target_mode(im)
        else:
            mode = "L" if im.mode == "L" else "RGB"
        arr = np.ascontiguousarray(np.asarray(im.convert(mode)), dtype=np.uint8)
        h, w = arr.shape[:2]
        nch = CHANNELS[mode]
        arr3 = arr.reshape(h, w, nch)
        samples = ""
        if rel.lower().endswith((".jpg", ".jpeg")):
            pts = []
            for _ in range(6):
                x, y, c = rng.randrange(w), rng.randrange(h), rng.randrange(nch)
                pts.append(f"{x}:{y}:{c}:{arr3[y, x, c]}")
            samples = " ".join(pts)
        lines.append(f"{rel}\t{w}\t{h}\t{nch}\t{sha16(arr.tobytes())}\t{samples}")
    with open(os.path.join(OUT, "real_decode.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"real decode: {len(files)} files")

    # Resizes of real bottle images (RGB) and ground-truth masks (L) as U-Flow's pre-processing does (A.1).
    bottle = os.path.join(data, "mvtec_ad", "bottle")
    picks = ["train/good/000.png", "train/good/101.png", "test/broken_large/000.png", "test/contamination/005.png",
             "ground_truth/broken_large/000_mask.png", "ground_truth/contamination/005_mask.png"]
    mtd_pick = sorted(p for p in files if p.startswith("mtd/MT_Blowhole") and p.endswith(".jpg"))[:2]
    lines = ["# path under <shared>/data, target width, height, channels, sha256[:16] of PIL's resize, samples x:y:c:v"]
    for rel in [os.path.join("mvtec_ad", "bottle", p) for p in picks] + mtd_pick:
        path = os.path.join(data, rel)
        im = Image.open(path)
        im.load()
        for (tw, th) in [(448, 448), (256, 256), (224, 224), (97, 61)]:
            out = np.ascontiguousarray(np.asarray(im.resize((tw, th), Image.BILINEAR)), dtype=np.uint8)
            nch = 1 if out.ndim == 2 else out.shape[2]
            o3 = out.reshape(th, tw, nch)
            pts = []
            for _ in range(48):
                x, y, c = rng.randrange(tw), rng.randrange(th), rng.randrange(nch)
                pts.append(f"{x}:{y}:{c}:{o3[y, x, c]}")
            lines.append(f"{rel}\t{tw}\t{th}\t{nch}\t{sha16(out.tobytes())}\t{' '.join(pts)}")
    with open(os.path.join(OUT, "real_resize.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------- normalisation and colour map
def normalize_and_jet(rng):
    import torch
    arr = np.array([rng.randrange(256) for _ in range(5 * 4 * 3)], dtype=np.uint8).reshape(5, 4, 3)
    arr[0, 0] = (0, 0, 0)
    arr[0, 1] = (255, 255, 255)
    t = torch.from_numpy(arr).permute(2, 0, 1).contiguous().to(torch.float32).div(255)  # torchvision ToTensor
    mean = torch.as_tensor((0.485, 0.456, 0.406), dtype=torch.float32).view(-1, 1, 1)
    std = torch.as_tensor((0.229, 0.224, 0.225), dtype=torch.float32).view(-1, 1, 1)
    t = t.sub(mean).div(std)  # torchvision Normalize
    bits = t.numpy().astype(np.float32).view(np.uint32).ravel().tolist()
    with open(os.path.join(OUT, "normalize.json"), "w") as f:
        json.dump({"width": 4, "height": 5, "rgb": arr.tobytes().hex(), "chw_float_bits": bits}, f)
    from matplotlib import cm
    jet = (np.asarray(cm.get_cmap("jet")(np.linspace(0, 1, 256)))[:, :3] * 255 + 0.5).astype(np.uint8)
    with open(os.path.join(OUT, "jet.json"), "w") as f:
        json.dump({"rgb": jet.tobytes().hex()}, f)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(20261122)
    synthetic(rng)
    resize_cases(rng)
    normalize_and_jet(rng)
    if os.path.isdir(os.path.join(SHARED, "data")):
        real(rng)
    else:
        print("shared data absent: real-data fixtures not regenerated")


if __name__ == "__main__":
    main()
