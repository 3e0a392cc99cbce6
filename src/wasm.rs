//! The WebAssembly binding (compiled only for wasm32): a thin JavaScript face over
//! [`crate::Deidentifier`]. It converts arguments and results and holds no rule: every
//! decision is the core's, exactly as in the CLI.
//!
//! ```js
//! import init, { Deidentifier } from "dicom-deid";
//! await init();
//! const deid = new Deidentifier(null, "my passphrase");   // default policy
//! deid.harvest(otherFileOfTheBatch);                       // optional first pass
//! const { bytes, report } = deid.deidentify(inputBytes);   // throws Error("not_dicom: ...")
//! ```
//!
//! A panic in the core becomes a WebAssembly trap (a `RuntimeError` in JavaScript). After a
//! trap the instance must not be used again: the page drops the worker that ran it and
//! starts a new one. `lastPanic()` returns the panic message (no patient data: the core's
//! panic messages name invariants, not values) so the page can report why.

use crate::{Error, Policy};
use serde::Serialize;
use std::sync::Mutex;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
import type { DeidentifyResult, DetectionShare, MappingTables } from "./types.js";
export type { Policy, PolicyInput, FileReport, ElementChange, DeidentifyResult, DetectionShare, MappingTables, ErrorKind } from "./types.js";
"#;

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// The worker's last text detector, kept across instances (see `loadModel`).
static DETECTORS: crate::detect::DetectorCache = crate::detect::DetectorCache::new();

#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        let msg = match info.payload().downcast_ref::<&str>() {
            Some(s) => s.to_string(),
            None => info.payload().downcast_ref::<String>().cloned().unwrap_or_else(|| "panic".into()),
        };
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        if let Ok(mut p) = LAST_PANIC.lock() {
            *p = Some(format!("{msg}{at}"));
        }
    }));
}

/// The message of the last panic (Rust code trapped), if any.
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.lock().ok().and_then(|p| p.clone())
}

/// The core's error as a JavaScript `Error` whose message is "kind: message"
/// (kind: not_dicom, parse, unsupported, policy, write, verification, pixels, io).
fn js_error(e: Error) -> JsError {
    let kind = serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
    JsError::new(&format!("{kind}: {}", e.message))
}

/// Plain JS objects for maps (not `Map`), numbers as numbers.
fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("io: cannot convert the result for JavaScript: {e}")))
}

#[wasm_bindgen]
pub struct Deidentifier {
    inner: crate::Deidentifier,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MappingsJs<'a> {
    uids: &'a std::collections::BTreeMap<String, String>,
    patient_ids: &'a std::collections::BTreeMap<String, String>,
}

#[wasm_bindgen]
impl Deidentifier {
    /// `policyJson`: a policy (only the fields it changes; null = the default policy).
    /// `secret`: a passphrase or key material (null = a random secret for this instance
    /// only: give every worker of a batch the same secret so that they agree).
    /// `recordMappings`: keep old -> new tables for `mappings()` (they re-identify).
    /// `reportValues`: put original and new values in the reports (they are PHI).
    #[wasm_bindgen(constructor)]
    pub fn new(
        policy_json: Option<String>,
        secret: Option<String>,
        record_mappings: Option<bool>,
        report_values: Option<bool>,
    ) -> Result<Deidentifier, JsError> {
        let policy = match policy_json.as_deref() {
            Some(j) if !j.trim().is_empty() => Policy::from_json(j).map_err(js_error)?,
            _ => Policy::default(),
        };
        let secret = secret.filter(|s| !s.is_empty());
        let inner = crate::Deidentifier::new(policy, secret.as_deref().map(str::as_bytes))
            .map_err(js_error)?
            .record_mappings(record_mappings.unwrap_or(false))
            .report_values(report_values.unwrap_or(false));
        Ok(Deidentifier { inner })
    }

    /// Load the text detection model (the ONNX file shipped with the page) for pixels.mode
    /// "detect". Without it, files with pixel data are withheld under that mode. A later
    /// instance in the same worker given the same model and detector settings (new
    /// settings, another passphrase) shares this one's detector and the plans it has built.
    #[wasm_bindgen(js_name = loadModel)]
    pub fn load_model(&mut self, onnx: &[u8]) -> Result<(), JsError> {
        self.inner.set_model_cached(onnx, &DETECTORS).map_err(js_error)
    }

    /// Plan the text detector for the most common image sizes now (for idle time: a page
    /// waiting for files); returns how many of those sizes have a plan now (0 without a model
    /// or when pixels.mode is not "detect").
    #[wasm_bindgen(js_name = prepareDetector)]
    pub fn prepare_detector(&self) -> Result<u32, JsError> {
        self.inner.prepare_detector().map_err(js_error)
    }

    /// True once a text detection model is loaded.
    #[wasm_bindgen(js_name = hasModel)]
    pub fn has_model(&self) -> bool {
        self.inner.has_model()
    }

    /// The default policy as pretty-printed JSON.
    #[wasm_bindgen(js_name = defaultPolicy)]
    pub fn default_policy() -> String {
        Policy::default().to_json()
    }

    /// The policy in use, as JSON (defaults filled in).
    #[wasm_bindgen(js_name = policyJson)]
    pub fn policy_json(&self) -> String {
        self.inner.policy().to_json()
    }

    /// First pass: add this file's identifying values to its patient's vocabulary. Only the
    /// header is read: the first bytes of a large file are enough when they hold it all.
    pub fn harvest(&self, bytes: &[u8]) -> Result<(), JsError> {
        self.inner.harvest(bytes).map_err(js_error)
    }

    /// De-identify one DICOM file: `{ bytes: Uint8Array, report: FileReport }`.
    /// Throws when the file cannot be read, written or verified (nothing is returned).
    /// The bytes are copied into the module and dropped once parsed (a large file is not
    /// held twice). `shares` (optional): detections of this file's pixels made by
    /// `detectPart` in other workers; the jobs they hold are not run again.
    #[wasm_bindgen(unchecked_return_type = "DeidentifyResult")]
    pub fn deidentify(
        &self,
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "DetectionShare[] | null")] shares: JsValue,
    ) -> Result<JsValue, JsError> {
        let shares = read_shares(shares)?;
        result_js(self.inner.deidentify_owned_with(bytes, &shares).map_err(js_error)?)
    }

    /// Parse a file once for sharing out its detection (`partsOf`, `detectPartOf`) and then
    /// cleaning it (`deidentifyParsed`), instead of once per call. Throws what `deidentify`
    /// would throw for a file it cannot read. The bytes are dropped once parsed.
    pub fn parse(&self, bytes: Vec<u8>) -> Result<ParsedFile, JsError> {
        Ok(ParsedFile { inner: self.inner.parse_file(bytes).map_err(js_error)? })
    }

    /// `detectionParts` from the first bytes of a file (its header up to Pixel Data), so
    /// that a worker can ask for help before it reads a large clip. Throws when the header
    /// alone does not say (deflated, or longer than the bytes given).
    #[wasm_bindgen(js_name = detectionPartsOfHeader)]
    pub fn detection_parts_of_header(&self, header: &[u8], helpers: u32) -> Result<u32, JsError> {
        self.inner.detection_parts_of_header(header, helpers).map_err(js_error)
    }

    /// `detectionParts` for a parsed file.
    #[wasm_bindgen(js_name = partsOf)]
    pub fn parts_of(&self, file: &ParsedFile, helpers: u32) -> Result<u32, JsError> {
        self.inner.parts_of(&file.inner, helpers).map_err(js_error)
    }

    /// `detectPart` for a parsed file.
    #[wasm_bindgen(js_name = detectPartOf, unchecked_return_type = "DetectionShare")]
    pub fn detect_part_of(&self, file: &ParsedFile, part: u32, parts: u32) -> Result<JsValue, JsError> {
        to_js(&self.inner.detect_part_of(&file.inner, part, parts).map_err(js_error)?)
    }

    /// `deidentify` for a parsed file, which it takes: the JavaScript object is spent.
    #[wasm_bindgen(js_name = deidentifyParsed, unchecked_return_type = "DeidentifyResult")]
    pub fn deidentify_parsed(
        &self,
        file: ParsedFile,
        #[wasm_bindgen(unchecked_param_type = "DetectionShare[] | null")] shares: JsValue,
    ) -> Result<JsValue, JsError> {
        let shares = read_shares(shares)?;
        result_js(self.inner.deidentify_parsed_file(file.inner, &shares).map_err(js_error)?)
    }

    /// How many detector runs cleaning this file's pixels takes that `detectPart` can share
    /// out among workers (0: none, e.g. no pixels or pixels.frames "every").
    #[wasm_bindgen(js_name = detectionJobs)]
    pub fn detection_jobs(&self, bytes: &[u8]) -> Result<u32, JsError> {
        self.inner.detection_jobs(bytes).map_err(js_error)
    }

    /// Into how many parts this file's detector runs are worth sharing out when `helpers`
    /// other workers are free (1: not worth it; the threshold is the core's).
    #[wasm_bindgen(js_name = detectionParts)]
    pub fn detection_parts(&self, bytes: &[u8], helpers: u32) -> Result<u32, JsError> {
        self.inner.detection_parts(bytes, helpers).map_err(js_error)
    }

    /// The detection jobs `part`, `part + parts`, ... of this file's pixels, for
    /// `deidentify(bytes, shares)` in another worker. Reads the pixels only.
    #[wasm_bindgen(js_name = detectPart, unchecked_return_type = "DetectionShare")]
    pub fn detect_part(&self, bytes: &[u8], part: u32, parts: u32) -> Result<JsValue, JsError> {
        to_js(&self.inner.detect_part(bytes, part, parts).map_err(js_error)?)
    }

    /// `{ uids: {old: new}, patientIds: {old: new} }` when built with `recordMappings`,
    /// else `null`.
    #[wasm_bindgen(unchecked_return_type = "MappingTables | null")]
    pub fn mappings(&self) -> Result<JsValue, JsError> {
        match self.inner.mappings() {
            None => Ok(JsValue::NULL),
            Some(m) => to_js(&MappingsJs { uids: &m.uids, patient_ids: &m.patient_ids }),
        }
    }
}

/// A DICOM file parsed in this module (`Deidentifier.parse`); spent by
/// `Deidentifier.deidentifyParsed`, else freed with `free()`.
#[wasm_bindgen]
pub struct ParsedFile {
    inner: crate::ParsedFile,
}

/// The detection shares given from JavaScript (null or undefined: none).
fn read_shares(shares: JsValue) -> Result<Vec<crate::report::DetectionShare>, JsError> {
    if shares.is_null() || shares.is_undefined() {
        return Ok(Vec::new());
    }
    serde_wasm_bindgen::from_value(shares).map_err(|e| JsError::new(&format!("io: the detection shares are not readable: {e}")))
}

/// `{ bytes: Uint8Array, report: FileReport }`.
fn result_js(out: crate::Output) -> Result<JsValue, JsError> {
    let report = to_js(&out.report)?;
    let result = js_sys::Object::new();
    let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&result, &JsValue::from_str(k), v).map(|_| ());
    set("bytes", &js_sys::Uint8Array::from(out.bytes.as_slice()).into())
        .and_then(|_| set("report", &report))
        .map_err(|_| JsError::new("io: cannot build the result object"))?;
    Ok(result.into())
}

/// One frame of a DICOM file as RGBA for display: `{ width, height, rgba: Uint8ClampedArray }`
/// (the page's before/after preview). Throws when the pixels cannot be decoded.
#[cfg(feature = "pixels")]
#[wasm_bindgen(js_name = previewFrame)]
pub fn preview_frame(bytes: &[u8], frame: u32) -> Result<JsValue, JsError> {
    let (w, h, rgba) = crate::pixels::preview_rgba(bytes, frame).map_err(js_error)?;
    let result = js_sys::Object::new();
    let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&result, &JsValue::from_str(k), v).map(|_| ());
    set("width", &JsValue::from(w))
        .and_then(|_| set("height", &JsValue::from(h)))
        .and_then(|_| set("rgba", &js_sys::Uint8ClampedArray::from(rgba.as_slice()).into()))
        .map_err(|_| JsError::new("io: cannot build the result object"))?;
    Ok(result.into())
}

/// The binding under Node: `cargo test --lib --release --target wasm32-unknown-unknown wasm::`
/// with wasm-bindgen-test-runner as the runner (tools/build-wasm.sh --test).
#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
    use dicom_object::mem::InMemDicomObject;
    use dicom_object::meta::FileMetaTableBuilder;
    use wasm_bindgen_test::wasm_bindgen_test;

    const STUDY: &str = "1.2.826.0.1.3680043.8.498.424242";

    fn sample() -> Vec<u8> {
        let el = |g, e, vr, v: &str| DataElement::new(Tag(g, e), vr, PrimitiveValue::from(v));
        let obj = InMemDicomObject::from_element_iter([
            el(0x0008, 0x0016, VR::UI, "1.2.840.10008.5.1.4.1.1.7"),
            el(0x0008, 0x0018, VR::UI, "1.2.826.0.1.3680043.8.498.424242.1.1"),
            el(0x0008, 0x0020, VR::DA, "20240311"),
            el(0x0008, 0x0060, VR::CS, "OT"),
            el(0x0008, 0x1030, VR::LO, "CT HEAD for Testperson"),
            el(0x0010, 0x0010, VR::PN, "Testperson^Quentin"),
            el(0x0010, 0x0020, VR::LO, "555-0142"),
            el(0x0010, 0x0030, VR::DA, "19700101"),
            el(0x0010, 0x4000, VR::LT, "Quentin Testperson, call +44 20 7946 0142"),
            el(0x0020, 0x000D, VR::UI, STUDY),
            el(0x0020, 0x000E, VR::UI, "1.2.826.0.1.3680043.8.498.424242.1"),
            el(0x0028, 0x0004, VR::CS, "MONOCHROME2"),
            DataElement::new(Tag(0x0028, 0x0002), VR::US, PrimitiveValue::from(1_u16)),
            DataElement::new(Tag(0x0028, 0x0010), VR::US, PrimitiveValue::from(2_u16)),
            DataElement::new(Tag(0x0028, 0x0011), VR::US, PrimitiveValue::from(2_u16)),
            DataElement::new(Tag(0x0028, 0x0100), VR::US, PrimitiveValue::from(8_u16)),
            DataElement::new(Tag(0x0028, 0x0101), VR::US, PrimitiveValue::from(8_u16)),
            DataElement::new(Tag(0x0028, 0x0102), VR::US, PrimitiveValue::from(7_u16)),
            DataElement::new(Tag(0x0028, 0x0103), VR::US, PrimitiveValue::from(0_u16)),
            DataElement::new(Tag(0x7FE0, 0x0010), VR::OB, PrimitiveValue::from(vec![0_u8, 64, 128, 255])),
        ]);
        let file = obj.with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1")).unwrap();
        let mut out = Vec::new();
        file.write_all(&mut out).unwrap();
        out
    }

    /// No model in these tests: the pixel step runs in rules mode.
    const RULES: &str = r#"{"pixels": {"mode": "rules"}}"#;

    fn rules() -> Option<String> {
        Some(RULES.into())
    }

    fn message(e: JsError) -> String {
        js_sys::Error::from(JsValue::from(e)).message().into()
    }

    fn get(v: &JsValue, key: &str) -> JsValue {
        js_sys::Reflect::get(v, &JsValue::from_str(key)).unwrap()
    }

    fn contains(hay: &[u8], needle: &str) -> bool {
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[wasm_bindgen_test]
    fn default_policy_is_the_cores() {
        assert_eq!(Deidentifier::default_policy(), Policy::default().to_json());
        let d = Deidentifier::new(None, None, None, None).unwrap();
        assert_eq!(d.policy_json(), Policy::default().to_json());
    }

    #[wasm_bindgen_test]
    fn errors_carry_their_kind() {
        let bad = Deidentifier::new(Some("{\"nope\": 1}".into()), None, None, None).err().unwrap();
        assert!(message(bad).starts_with("policy: "));
        let d = Deidentifier::new(None, Some("s".into()), None, None).unwrap();
        assert!(!d.has_model());
        let e = d.deidentify(sample(), JsValue::NULL).err().unwrap();
        assert!(message(e).starts_with("pixels: "), "detect mode without a model withholds images");
        let e = d.deidentify(b"not a dicom file at all".to_vec(), JsValue::UNDEFINED).err().unwrap();
        assert!(message(e).starts_with("not_dicom: "));
        let e = d.harvest(b"nope").err().unwrap();
        assert!(message(e).starts_with("not_dicom: "));
    }

    #[wasm_bindgen_test]
    fn deidentify_returns_bytes_and_report() {
        let d = Deidentifier::new(rules(), Some("secret".into()), None, None).unwrap();
        let input = sample();
        d.harvest(&input).unwrap();
        let out = d.deidentify(input, JsValue::NULL).unwrap();
        let bytes = js_sys::Uint8Array::new(&get(&out, "bytes")).to_vec();
        assert_eq!(&bytes[128..132], b"DICM");
        for phi in ["Testperson", "Quentin", "555-0142", "19700101", STUDY] {
            assert!(!contains(&bytes, phi), "{phi} survived");
        }
        let report = get(&out, "report");
        assert!(get(&report, "patient").as_string().unwrap().starts_with("ANON-"));
        assert!(js_sys::Array::from(&get(&report, "elements")).length() > 5);
        assert!(get(&get(&report, "verification"), "values_checked").as_f64().unwrap() > 0.0);
        assert!(d.mappings().unwrap().is_null());
        let pixels = get(&report, "pixels");
        assert_eq!(get(&pixels, "frames").as_f64(), Some(1.0));
        let preview = preview_frame(&bytes, 0).unwrap();
        assert_eq!(get(&preview, "width").as_f64(), Some(2.0));
        assert_eq!(js_sys::Uint8ClampedArray::new(&get(&preview, "rgba")).length(), 16);
    }

    #[wasm_bindgen_test]
    fn detection_shares_go_through_javascript() {
        let d = Deidentifier::new(rules(), Some("secret".into()), None, None).unwrap();
        // Rules only: no detector runs to share, and an empty share changes nothing.
        assert_eq!(d.detection_jobs(&sample()).unwrap(), 0);
        assert_eq!(d.detection_parts(&sample(), 3).unwrap(), 1);
        assert_eq!(d.prepare_detector().unwrap(), 0, "rules only: nothing to plan");
        let share = d.detect_part(&sample(), 0, 2).unwrap();
        assert_eq!(get(&share, "jobs").as_f64(), Some(0.0));
        assert_eq!(js_sys::Array::from(&get(&share, "results")).length(), 0);
        let shares = js_sys::Array::of1(&share);
        let with = d.deidentify(sample(), shares.into()).unwrap();
        let without = d.deidentify(sample(), JsValue::NULL).unwrap();
        let bytes = |v: &JsValue| js_sys::Uint8Array::new(&get(v, "bytes")).to_vec();
        assert_eq!(bytes(&with), bytes(&without));
        // A share in the page's own shape (job, [x0, y0, x1, y1, score]) is read...
        let made = js_sys::JSON::parse(r#"[{"fingerprint": "00", "jobs": 2, "results": [[1, [[0, 0, 1, 1, 0.9]]]]}]"#).unwrap();
        assert_eq!(bytes(&d.deidentify(sample(), made).unwrap()), bytes(&without), "a share in the page's shape is read (rules only: nothing to use it for)");
        // ... anything else is an error that says so.
        let e = d.deidentify(sample(), JsValue::from_f64(3.0)).err().unwrap();
        assert!(message(e).starts_with("io: the detection shares are not readable"));
        let e = d.detect_part(b"nope", 0, 2).err().unwrap();
        assert!(message(e).starts_with("not_dicom: "));
        assert_eq!(d.detection_parts_of_header(&sample(), 3).unwrap(), 1);
        // Parsed once: the same counts, share and output as from the bytes.
        let file = d.parse(sample()).unwrap();
        assert_eq!(d.parts_of(&file, 3).unwrap(), 1);
        let share = d.detect_part_of(&file, 0, 2).unwrap();
        assert_eq!(get(&share, "jobs").as_f64(), Some(0.0));
        assert_eq!(bytes(&d.deidentify_parsed(file, js_sys::Array::of1(&share).into()).unwrap()), bytes(&without));
        let e = d.parse(b"nope".to_vec()).err().unwrap();
        assert!(message(e).starts_with("not_dicom: "));
    }

    #[wasm_bindgen_test]
    fn same_secret_same_uids_and_mappings_on_request() {
        let run = |secret: &str| {
            let d = Deidentifier::new(rules(), Some(secret.into()), Some(true), None).unwrap();
            let out = d.deidentify(sample(), JsValue::NULL).unwrap();
            (get(&get(&out, "report"), "study_instance_uid").as_string().unwrap(), d.mappings().unwrap())
        };
        let (a, m) = run("one");
        let (b, _) = run("one");
        let (c, _) = run("two");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(get(&get(&m, "uids"), STUDY).as_string().unwrap(), a);
        assert!(get(&get(&m, "patientIds"), "555-0142").as_string().unwrap().starts_with("ANON-"));
    }
}
