#!/usr/bin/env python3
"""Synthetic DICOM inputs with burned-in text for the pixel-cleaner benchmark.

    python tools/bench/pixel_clip.py OUT_DIR [--frames 120] [--ct-series N]

Writes (Explicit VR Little Endian, native pixels, deterministic: fixed seeds, fixed UIDs):
  ct_512.dcm       single-frame MONOCHROME2 16-bit (12 stored) 512x512 CT-like slice,
                   4 text lines in the corners
  sc_1024x768.dcm  single-frame RGB 1024x768 secondary capture (a screenshot with text)
  us_clip.dcm      120-frame RGB 640x480 ultrasound-like clip: a speckle sector that moves
                   every frame, static text (name, ID, date, hospital) and a frame
                   counter / clock that changes every frame
  nopixels.dcm     the same patient's header without Pixel Data (start-up cost of the CLI)
  ct_series/       with --ct-series N: N slices of ct_512.dcm's series (the same pixels, their
                   own SOP Instance UIDs and instance numbers), for the cost per slice once
                   the detector's plan for the size is made

Needs pydicom, numpy and Pillow (DejaVu Sans if installed, else Pillow's default font).
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

FONT_PATHS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
]
ROOT = "1.2.826.0.1.3680043.10.1234"  # fixed UID root: same bytes on every run

CT = "1.2.840.10008.5.1.4.1.1.2"
SC = "1.2.840.10008.5.1.4.1.1.7"
US_MF = "1.2.840.10008.5.1.4.1.1.3.1"
SR = "1.2.840.10008.5.1.4.1.1.88.11"


def font(size):
    for p in FONT_PATHS:
        if os.path.exists(p):
            return ImageFont.truetype(p, size)
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def text_mask(w, h, items):
    """items: (x, y, text, size); negative x/y are measured from the right/bottom edge."""
    img = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(img)
    for x, y, text, size in items:
        f = font(size)
        l, t, r, b = d.textbbox((0, 0), text, font=f)
        if x < 0:
            x = w + x - (r - l)
        if y < 0:
            y = h + y - (b - t)
        d.text((x - l, y - t), text, fill=255, font=f)
    return np.asarray(img, dtype=np.float32) / 255.0


def header(sop_class, n, modality, rows, cols):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = f"{ROOT}.3.{n}"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = f"{ROOT}.0"
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = f"{ROOT}.3.{n}"
    ds.StudyDate = "20240314"
    ds.SeriesDate = "20240314"
    ds.StudyTime = "093015"
    ds.AccessionNumber = "ACC20240314"
    ds.Modality = modality
    ds.Manufacturer = "Acme Imaging"
    ds.InstitutionName = "St. Example General Hospital"
    ds.ReferringPhysicianName = "House^Gregory"
    ds.StationName = "ACME-01"
    ds.StudyDescription = "Benchmark study"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "MRN4711"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = f"{ROOT}.1"
    ds.SeriesInstanceUID = f"{ROOT}.2.{n}"
    ds.StudyID = "4711"
    ds.SeriesNumber = n
    ds.InstanceNumber = 1
    if rows:
        ds.Rows = rows
        ds.Columns = cols
    return ds


def write(ds, path):
    ds.save_as(path, enforce_file_format=True)


def ct_512(out):
    rng = np.random.default_rng(1)
    w = h = 512
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(xx - w / 2, (yy - h / 2) * 1.15)
    img = np.where(r < 220, 1040.0, 24.0)  # body (water ~ 1024 + offset) in air
    img = np.where(r < 200, 1060.0, img)
    img += np.where(np.hypot(xx - 200, yy - 260) < 40, 400.0, 0)  # a bright organ
    img += np.where(np.hypot(xx - 320, yy - 230) < 30, -600.0, 0)  # a dark cavity
    img += rng.normal(0, 18, (h, w))
    m = text_mask(w, h, [
        (8, 8, "DOE^JANE", 16), (-8, 8, "ID: MRN4711", 16),
        (8, -8, "DOB 01.01.1970", 16), (-8, -8, "St. Example General", 16),
    ])
    img = img * (1 - m) + 4095 * m
    px = np.clip(img, 0, 4095).astype(np.uint16)
    ds = header(CT, 1, "CT", h, w)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    ds.PixelSpacing = [0.7, 0.7]
    ds.SliceThickness = 1.0
    ds.PixelData = px.tobytes()
    write(ds, os.path.join(out, "ct_512.dcm"))


def rgb_header(ds, frames=None):
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    if frames is not None:
        ds.NumberOfFrames = frames


def sc_1024(out):
    rng = np.random.default_rng(2)
    w, h = 1024, 768
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([40 + 30 * np.sin(xx / 90), 40 + 30 * np.cos(yy / 70), 60 + 0 * xx], -1)
    base += rng.normal(0, 6, (h, w, 1))
    # a grey "viewport" with a round structure
    vp = (xx > 160) & (xx < 860) & (yy > 80) & (yy < 700)
    blob = np.clip(200 - np.hypot(xx - 510, yy - 390) * 0.8, 0, 200)
    base[vp] = (blob[vp, None] + rng.normal(0, 10, (int(vp.sum()), 1)))
    m = text_mask(w, h, [
        (12, 12, "Patient: DOE, JANE", 20), (12, 40, "MRN4711   F   1970-01-01", 20),
        (-12, 12, "St. Example General Hospital", 20), (-12, 40, "2024-03-14 09:30:15", 20),
        (12, -40, "Ref: Dr. G. House", 18), (12, -12, "Acc# ACC20240314", 18),
        (-12, -12, "Secondary capture - report page 1/1", 18),
        (180, 660, "Impression: no acute findings", 22),
    ])
    img = base * (1 - m[..., None]) + np.array([255, 255, 200]) * m[..., None]
    px = np.clip(img, 0, 255).astype(np.uint8)
    ds = header(SC, 2, "OT", h, w)
    ds.ConversionType = "WSD"
    rgb_header(ds)
    ds.PixelData = px.tobytes()
    write(ds, os.path.join(out, "sc_1024x768.dcm"))


def us_clip(out, frames):
    rng = np.random.default_rng(3)
    w, h = 640, 480
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    apex = (w / 2, 40.0)
    ang = np.degrees(np.arctan2(xx - apex[0], yy - apex[1]))
    rad = np.hypot(xx - apex[0], yy - apex[1])
    sector = (np.abs(ang) < 38) & (rad > 20) & (rad < 420)
    # a speckle field twice as tall as the frame, scrolled by a few pixels per frame
    speckle = rng.rayleigh(1.0, (h * 2, w)).astype(np.float32)
    speckle = (speckle + np.roll(speckle, 1, 1) + np.roll(speckle, 1, 0)) / 3
    depth_gain = np.clip(1.2 - rad / 500, 0.3, 1.2)
    static = text_mask(w, h, [
        (10, 8, "DOE^JANE", 16), (10, 30, "ID MRN4711", 16),
        (-10, 8, "14/03/2024", 16), (-10, 30, "St. Example General", 16),
        (10, -10, "C5-1  4.0 MHz  Gain 52", 14),
    ])
    static3 = np.repeat(static[..., None], 3, -1)
    ds = header(US_MF, 3, "US", h, w)
    rgb_header(ds, frames)
    ds.FrameTime = 33.3
    ds.CineRate = 30
    ds.FrameIncrementPointer = (0x0018, 0x1063)
    buf = bytearray()
    for f in range(frames):
        off = (f * 3) % h
        s = speckle[off:off + h] * depth_gain * 70
        # a moving bright "vessel wall" and a dark cyst that drifts across the sector
        cx = w / 2 + 120 * np.sin(2 * np.pi * f / frames)
        s += 90 * np.exp(-((yy - 250 - 30 * np.sin(f / 9)) / 6) ** 2)
        s *= 1 - 0.8 * (np.hypot(xx - cx, yy - 300) < 45)
        g = np.where(sector, np.clip(s, 0, 255), 0)
        img = np.repeat(g[..., None], 3, -1)
        sec = f / 30
        clock = text_mask(w, h, [
            (-10, -10, f"Frame {f + 1:3d}/{frames}  {int(sec // 60):02d}:{sec % 60:05.2f}", 14),
            (-10, 52, f"09:30:{15 + f // 30:02d}", 14),
        ])
        m = np.maximum(static3, clock[..., None])
        img = img * (1 - m) + np.array([230, 230, 120], np.float32) * m
        buf += np.clip(img, 0, 255).astype(np.uint8).tobytes()
    ds.PixelData = bytes(buf)
    write(ds, os.path.join(out, "us_clip.dcm"))


def nopixels(out):
    ds = header(SR, 4, "SR", None, None)
    ds.ContentDate = "20240314"
    ds.ContentTime = "093500"
    write(ds, os.path.join(out, "nopixels.dcm"))


def ct_series(out, n):
    import pydicom

    series = os.path.join(out, "ct_series")
    os.makedirs(series, exist_ok=True)
    for i in range(1, n + 1):
        ds = pydicom.dcmread(os.path.join(out, "ct_512.dcm"))
        uid = f"{ROOT}.3.1.{i}"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.InstanceNumber = i
        write(ds, os.path.join(series, f"ct_512_{i:04d}.dcm"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--ct-series", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    ct_512(a.out)
    if a.ct_series:
        ct_series(a.out, a.ct_series)
    sc_1024(a.out)
    us_clip(a.out, a.frames)
    nopixels(a.out)
    for n in sorted(os.listdir(a.out)):
        if n.endswith(".dcm"):
            print(f"{n}\t{os.path.getsize(os.path.join(a.out, n))} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
