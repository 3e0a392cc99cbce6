#!/usr/bin/env python3
"""End-to-end check of the CLI on an evaluation corpus, from score.py's JSON.

Usage: check_corpus.py SCORE_JSON OUT_DIR CORPUS_DIR

Asserts what issues 2 and 3 promise on the default policy: no PHI string leaked (every
category), every kept attribute kept, every output parses and decodes, UIDs consistent with
every reference preserved, markers in every file, no new dciodvfy error, and every
burned-in box masked. Photometric Interpretation may change only as decompression changes
it (JPEG 2000's YBR_RCT/ICT decoded to RGB; JPEG YBR_FULL_422 to YBR_FULL, its chroma
upsampled; native YBR_FULL_422 stays as it is), and only in files
whose pixels were cleaned (written in Explicit VR Little Endian). dciodvfy cannot read
Deflated data sets (it reports "Dicom dataset read failed" on the inputs too), so for those
both sides are inflated with dcmtk's dcmconv first and compared again.
Prints one line per check and a closing 'N passed, N failed' line.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

score_json, out_dir, corpus = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
s = json.load(open(score_json))[0]
files = s["files"]
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + str(detail) if detail else ''}")


def dciodvfy_errors(path):
    r = subprocess.run(["dciodvfy", "-new", str(path)], capture_output=True, text=True, errors="replace")
    return sum(1 for ln in (r.stdout + r.stderr).splitlines() if ln.startswith("Error"))


def inflated_errors(path):
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t) / "x.dcm"
        subprocess.run(["dcmconv", "+te", str(path), str(tmp)], check=True)
        return dciodvfy_errors(tmp)


check("every file has an output", s["outputs_found"] == files, f"{s['outputs_found']}/{files}")
check("every output parses and decodes", s["parse_valid"] == files, f"{s['parse_valid']}/{files}")
check("no PHI string leaked", s["phi_leaked"] == 0, f"{s['phi_leaked']}/{s['phi_total']} {s['phi_leaked_by_category']}")
def photometric_changes():
    """(file, before, after) for every output whose Photometric Interpretation changed."""
    import pydicom
    out = []
    for f in s.get("per_file", []):
        if not f.get("output"):
            continue
        a = pydicom.dcmread(corpus / "input" / f["file"], stop_before_pixels=True)
        b = pydicom.dcmread(f["output"], stop_before_pixels=True)
        pa, pb = a.get("PhotometricInterpretation"), b.get("PhotometricInterpretation")
        if pa != pb:
            out.append((f["file"], pa, pb, str(b.file_meta.TransferSyntaxUID)))
    return out


lost = dict(s["kept_must_lost"])
changes = photometric_changes()
# Decompressed to native: a JPEG 2000 colour transform undone (YBR_RCT/ICT -> RGB), JPEG
# chroma upsampled (YBR_FULL_422 -> YBR_FULL), or a colour-space change by a decoder (-> RGB).
lawful = [c for c in changes if c[3] == "1.2.840.10008.1.2.1"
          and ((c[1] or "").startswith("YBR_") and c[2] == "RGB" or (c[1], c[2]) == ("YBR_FULL_422", "YBR_FULL"))]
check("Photometric Interpretation changed only by decompression", len(lawful) == len(changes),
      [c for c in changes if c not in lawful][:5])
if lost.get("PhotometricInterpretation") == len(lawful):
    lost.pop("PhotometricInterpretation")
check("kept (must) 100% (apart from the decompression changes above)", not lost, s["kept_must_lost"])
check("PatientSex/PatientAge kept", s["kept_should_pct"] == 100.0, s["kept_should_lost"])
check("UIDs consistent", s["uids"]["consistent"], s["uids"])
refs = s["uids"]["references"]
check("references preserved", refs["ok"] == refs["total"], refs)
check("PatientIdentityRemoved=YES everywhere", s["patient_identity_removed"] == files)
check("DeidentificationMethod everywhere", s["deid_method"] == files)
check("DeidentificationMethodCodeSequence everywhere", s["deid_method_code_seq"] == files)
masked, total = (int(x) for x in s["burned_boxes_masked"].split("/"))
check("every burned-in box masked", total > 0 and masked == total, s["burned_boxes_masked"])
check("every output's pixels decode", s.get("pixels_decode_fail", 0) == 0 and s.get("pixel_shape_changed", 0) == 0)

new_errors = []
for f in s.get("per_file", []):
    if f.get("dciodvfy_errors_out", 0) <= f.get("dciodvfy_errors_in", 0):
        continue
    key = json.load(open(corpus / "keys" / (f["file"][:-4] + ".json")))
    if key["transfer_syntax"] == "1.2.840.10008.1.2.1.99":
        i, o = inflated_errors(corpus / "input" / f["file"]), inflated_errors(f["output"])
        if o <= i:
            continue
    new_errors.append(f["file"])
check("no new dciodvfy errors (deflated compared inflated)", not new_errors, new_errors[:10])

passed = sum(results)
print(f"corpus: {passed} passed, {len(results) - passed} failed")
sys.exit(0 if passed == len(results) else 1)
