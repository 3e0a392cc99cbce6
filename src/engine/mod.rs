//! The de-identification engine: parse, harvest the sensitive vocabulary, decide and apply
//! an action per element, add the markers, write, and verify independently.

mod apply;
pub(crate) mod classify;
mod framing;
mod harvest;
pub(crate) mod io;
mod structure;
mod unknown_sequences;
mod unknown_vr;
/// The engine's parse (header walk, then dicom-object), for callers and fuzz targets.
pub use io::parse;
pub use structure::check as check_structure;
pub(crate) mod markers;
mod pixel_step;

use crate::actions::dates::Offset;
use crate::actions::pseudonym::pseudonym;
use crate::error::{Error, Result};
use crate::policy::selector::Selector;
use crate::policy::{safe_private, Override, Policy};
use crate::report::{DetectionShare, FileReport};
use crate::secret::Secret;
use crate::text::{Detectors, Vocabulary};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

pub use harvest::PatientKey;

/// The tag and the uncompressed transfer syntaxes the engine's modules name.
pub(crate) const PIXEL_DATA: dicom_core::Tag = dicom_core::Tag(0x7FE0, 0x0010);
pub(crate) const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
pub(crate) const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
pub(crate) const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
pub(crate) const DEFLATED: &str = "1.2.840.10008.1.2.1.99";

/// How many keyed date offsets are tried for a patient before the first is used anyway
/// (the verifier then decides): with a few dates per patient nearly every first one is safe.
const OFFSET_CANDIDATES: u32 = 16;

/// The bytes the patients' built vocabularies and matchers may hold by default (a patient's
/// are about 0.3 MB in the evaluation corpora, more for a long series: each instance UID is
/// a value). Past it the least recently used are dropped and built again when needed. The
/// page's workers each hold one engine, within the 4 GB of a WebAssembly memory.
#[cfg(not(target_arch = "wasm32"))]
pub const PATIENT_MEMORY: usize = 256 << 20;
#[cfg(target_arch = "wasm32")]
pub const PATIENT_MEMORY: usize = 128 << 20;

/// Fewer detector runs than this are not worth another parse and decode of the file in each
/// helping thread or worker ([`Deidentifier::detection_parts`]).
pub const MIN_JOBS_TO_SHARE: u32 = 4;

/// Parts worth making of `jobs` detector runs with `helpers` others free (at least 1).
fn parts_for(jobs: u32, helpers: u32) -> u32 {
    if jobs < MIN_JOBS_TO_SHARE {
        1
    } else {
        (helpers + 1).min(jobs)
    }
}

/// A file parsed once ([`Deidentifier::parse_file`]) for sharing out its detection and
/// then cleaning it.
pub struct ParsedFile {
    file: dicom_object::DefaultDicomObject,
    repairs: Vec<framing::Repair>,
}

/// The head of a file whose Pixel Data this policy leaves as it is ([`Deidentifier::read_head`]):
/// its data set before that element, parsed, and where the element's value lies in the file.
/// It serves both passes over a batch (`harvest_head`, `deidentify_head`).
pub struct Head {
    file: dicom_object::DefaultDicomObject,
    /// What `harvest_head` harvested from it (the same again when it is de-identified).
    harvested: Option<harvest::Harvest>,
    /// The length of the file's bytes before Pixel Data.
    head_len: usize,
    /// The element's header (tag, VR, length), as in the file.
    pixel_header: Vec<u8>,
    /// The Pixel Data value's bytes in the file, to the end of the file.
    pub pixel_value: std::ops::Range<u64>,
}

impl Head {
    /// The length of the file's bytes before Pixel Data: what keeping this head in memory
    /// costs is a small multiple of it.
    pub fn bytes_before_pixels(&self) -> usize {
        self.head_len
    }
}

/// What [`Deidentifier::deidentify_head`] returns: the de-identified file up to and including
/// the header of its Pixel Data element, to be followed by the input's bytes `pixel_value`
/// unchanged (the whole output is then what `deidentify` writes for the same input).
#[derive(Debug)]
pub struct HeadOutput {
    pub bytes: Vec<u8>,
    pub report: FileReport,
    pub pixel_value: std::ops::Range<u64>,
}

/// Which pixel step `transform` runs.
#[derive(Clone, Copy)]
enum PixelStep<'a> {
    /// None (`verify_pair`, which needs the header only).
    Skip,
    /// The pixel step, with detections made elsewhere.
    Run(&'a [DetectionShare]),
    /// Pixel Data follows the data set unread and is written on as it is.
    PassThrough,
}

/// What `deidentify` returns for one input.
#[derive(Debug)]
pub struct Output {
    /// The de-identified DICOM file (preamble, meta group, data set).
    pub bytes: Vec<u8>,
    pub report: FileReport,
}

/// Old -> new identifiers seen so far, for the mapping tables (kept only when asked).
#[derive(Debug, Default, Clone)]
pub struct Mappings {
    pub uids: BTreeMap<String, String>,
    pub patient_ids: BTreeMap<String, String>,
}

/// Built once from a policy and a secret, then used for any number of files, from any
/// number of threads. Files of the same patient share one vocabulary, one date offset
/// and one pseudonym.
pub struct Deidentifier {
    pub(crate) policy: Policy,
    pub(crate) enabled: [bool; 10],
    pub(crate) secret: Secret,
    pub(crate) detectors: Detectors,
    pub(crate) overrides: Vec<(Selector, Override)>,
    pub(crate) harvest_selectors: Vec<Selector>,
    pub(crate) safe_private: HashSet<(String, u16, u8)>,
    /// Harvested vocabulary per patient (PHI: held in memory only, never logged).
    patients: RwLock<Patients>,
    /// The bytes the patients' built vocabularies may hold ([`Patients::bound`]).
    patient_memory: usize,
    mappings: Option<Mutex<Mappings>>,
    /// Put original and new values in the report (off by default: reports carry no PHI).
    pub(crate) report_values: bool,
    /// List every element changed in the report (on by default).
    pub(crate) report_elements: bool,
    /// Words dicom-deid itself writes (pseudonym text, dummies, markers), lower-case: an
    /// input value equal to one of them is not harvested, or every output would "leak" it.
    pub(crate) own_words: HashSet<String>,
    /// The burned-in text detector (pixels.mode detect), shared by every thread.
    #[cfg(feature = "pixels")]
    pub(crate) detector: Option<Arc<crate::detect::Detector>>,
}

/// One patient of the batch: every value harvested so far, and the vocabulary built from
/// them when a file of the patient is de-identified. Harvesting only adds values (a first
/// pass over a series adds a few per file, each file's instance UIDs); the vocabulary is
/// built on from the last one once it is asked for after that. The built vocabulary may be
/// dropped to bound memory ([`Patients::bound`]): it is then built again from `order`, the
/// same vocabulary as before, since it is made by adding the same values in the same order.
#[derive(Default)]
struct PatientEntry {
    harvested: harvest::Harvest,
    /// `harvested` in the order the values came.
    order: Vec<(String, crate::text::PhiKind)>,
    /// How many of `order` `built` was built from.
    built_len: usize,
    built: Option<Arc<PatientVocabulary>>,
    /// Shared by every version of `built` (see [`PatientVocabulary::offset`]).
    offset: Arc<OnceLock<Offset>>,
    /// When a file of the patient last asked for its vocabulary ([`Patients::clock`]).
    last_used: AtomicU64,
}

impl PatientEntry {
    fn add(&mut self, pairs: &harvest::Harvest) {
        for pair in pairs {
            if !self.harvested.contains(pair) {
                self.order.push(pair.clone());
                self.harvested.insert(pair.clone());
            }
        }
    }

    /// The vocabulary of every value harvested, if it is built.
    fn current(&self) -> Option<&Arc<PatientVocabulary>> {
        self.built.as_ref().filter(|_| self.built_len == self.order.len())
    }

    /// The vocabulary of every value harvested: the last one, with what came since.
    fn vocabulary(&mut self) -> Arc<PatientVocabulary> {
        if let Some(b) = self.current() {
            return b.clone();
        }
        let mut vocab = self.built.as_ref().map(|b| b.vocab.clone()).unwrap_or_default();
        for (value, kind) in &self.order[self.built_len..] {
            vocab.add(value, *kind);
        }
        self.built_len = self.order.len();
        let dates = self
            .harvested
            .iter()
            .filter(|(_, kind)| *kind == crate::text::PhiKind::Date)
            .filter_map(|(v, _)| crate::actions::dates::parse_da(v))
            .collect();
        let vocab_bytes = vocab.memory_bytes() - vocab.automaton_bytes();
        let built = Arc::new(PatientVocabulary {
            vocab,
            vocab_bytes,
            dates,
            offset: self.offset.clone(),
            scans: crate::text::FindingCache::new(PatientVocabulary::SCAN_BYTES),
            needles: OnceLock::new(),
        });
        self.built = Some(built.clone());
        built
    }

    /// Drop the built vocabulary (files holding it keep it until they are done).
    fn drop_built(&mut self) {
        self.built = None;
        self.built_len = 0;
    }
}

/// The batch's patients, and which of them hold a built vocabulary.
#[derive(Default)]
struct Patients {
    entries: HashMap<String, PatientEntry>,
    built: HashSet<String>,
    /// Counts requests for vocabularies: the recency of `PatientEntry::last_used`.
    clock: AtomicU64,
}

impl Patients {
    fn touch(&self, entry: &PatientEntry) {
        entry.last_used.store(self.clock.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
    }

    /// Drop the built vocabularies of the patients least recently asked for, `keep` aside,
    /// until those left hold at most `budget` bytes. A batch of thousands of patients would
    /// otherwise keep every patient's matchers (hundreds of KB each) to its end.
    fn bound(&mut self, keep: &str, budget: usize) {
        let mut held: Vec<(u64, usize, &String)> = self
            .built
            .iter()
            .filter_map(|k| {
                let e = self.entries.get(k)?;
                Some((e.last_used.load(Ordering::Relaxed), e.built.as_ref()?.memory_bytes(), k))
            })
            .collect();
        let mut total: usize = held.iter().map(|h| h.1).sum();
        if total <= budget {
            return;
        }
        held.sort_unstable();
        let mut dropped = Vec::new();
        for (_, bytes, key) in held {
            if total <= budget {
                break;
            }
            if key != keep {
                total -= bytes;
                dropped.push(key.clone());
            }
        }
        for key in dropped {
            if let Some(e) = self.entries.get_mut(&key) {
                e.drop_built();
            }
            self.built.remove(&key);
        }
    }
}

/// One patient's harvested vocabulary and, built on first use, the verifier's matcher.
pub(crate) struct PatientVocabulary {
    pub vocab: Vocabulary,
    /// `vocab`'s bytes without its automaton.
    vocab_bytes: usize,
    /// The harvested dates `vocab` was built from, as day numbers.
    dates: HashSet<i64>,
    needles: OnceLock<crate::verify::Needles>,
    /// Findings by text, this patient's vocabulary included: a series repeats its texts in
    /// every file.
    scans: crate::text::FindingCache,
    /// The patient's date offset, chosen on first use ([`Deidentifier::choose_offset`]) and
    /// shared by every later version of this entry, so that a vocabulary that grows does not
    /// change the offset of the patient's remaining files.
    offset: Arc<OnceLock<Offset>>,
}

impl PatientVocabulary {
    /// The bytes a patient's remembered scans may hold.
    const SCAN_BYTES: usize = 4 << 20;

    /// About how many heap bytes this holds, matchers and remembered scans included.
    fn memory_bytes(&self) -> usize {
        let needles = self.needles.get().map_or(0, crate::verify::Needles::memory_bytes);
        self.vocab_bytes + self.vocab.automaton_bytes() + needles + self.scans.memory_bytes() + self.dates.len() * 16
    }

    fn needles(&self, policy: &Policy) -> &crate::verify::Needles {
        self.needles.get_or_init(|| crate::verify::Needles::new(&self.vocab, policy))
    }

    /// [`crate::text::scan`] of `text` with this patient's vocabulary, remembered.
    pub fn scan(&self, text: &str, detectors: &crate::text::Detectors, strict: bool) -> Vec<crate::text::Finding> {
        self.scans.get_or_scan(text, strict, || crate::text::scan(text, &self.vocab, detectors, strict))
    }
}

/// Every word of the text this policy writes into outputs.
fn own_words(policy: &Policy) -> HashSet<String> {
    let mut texts: Vec<String> = vec![policy.pseudonyms.patient_name.clone(), policy.pseudonyms.patient_id.clone(), policy.free_text.replacement.clone()];
    texts.extend(policy.dummy_values.values().cloned());
    texts.extend(["AE", "CS", "LO", "PN", "SH", "DA", "TM", "DT", "AS"].iter().filter_map(|vr| crate::actions::dummy::builtin(vr)).map(String::from));
    texts.extend(markers::method_codes(&policy.options).iter().map(|(_, m)| m.to_string()));
    texts.push(markers::CLEAN_PIXEL_DATA.1.to_string());
    texts.extend(["YES", "DCM", "MODIFIED", "UNMODIFIED", "REMOVED", "dicom-deid"].map(String::from));
    texts
        .iter()
        .flat_map(|t| t.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase).collect::<Vec<_>>())
        .filter(|w| !w.is_empty() && w != "hash")
        .collect()
}

impl Deidentifier {
    /// `secret`: key material (a passphrase or the contents of a key file); `None` draws a
    /// random one, so mappings are consistent within this run only.
    pub fn new(policy: Policy, secret: Option<&[u8]>) -> Result<Deidentifier> {
        policy.validate()?;
        let secret = match secret {
            Some(s) => Secret::from_bytes(s)?,
            None => Secret::random()?,
        };
        let detectors = Detectors::new(&policy.text).map_err(|e| Error::policy(format!("text: {e}")))?;
        let overrides = policy
            .overrides
            .iter()
            .map(|o| Ok((Selector::parse(&o.select).map_err(Error::policy)?, o.clone())))
            .collect::<Result<Vec<_>>>()?;
        let harvest_selectors =
            policy.harvest.iter().map(|h| Selector::parse(h).map_err(Error::policy)).collect::<Result<Vec<_>>>()?;
        let safe_private = policy
            .private
            .safe
            .iter()
            .map(|s| safe_private::parse_entry(s).map_err(Error::policy))
            .collect::<Result<HashSet<_>>>()?;
        let own_words = own_words(&policy);
        Ok(Deidentifier {
            own_words,
            enabled: policy.options.enabled(),
            policy,
            secret,
            detectors,
            overrides,
            harvest_selectors,
            safe_private,
            patients: RwLock::new(Patients::default()),
            patient_memory: PATIENT_MEMORY,
            mappings: None,
            report_values: false,
            report_elements: true,
            #[cfg(feature = "pixels")]
            detector: None,
        })
    }

    /// Record old -> new UIDs and patient IDs for `mappings()` (off by default: the
    /// tables re-identify, so they exist only when the user asks for them).
    pub fn record_mappings(mut self, on: bool) -> Self {
        self.mappings = on.then(|| Mutex::new(Mappings::default()));
        self
    }

    /// Include original and new values in the report (they are PHI: only on request).
    pub fn report_values(mut self, on: bool) -> Self {
        self.report_values = on;
        self
    }

    /// List every element changed in the report (`FileReport::elements`, on by default): a
    /// caller that writes no report (the CLI without `--report`) saves the cost of the list.
    /// The markers' own entries are always there.
    pub fn report_elements(mut self, on: bool) -> Self {
        self.report_elements = on;
        self
    }

    /// Load the text detection model (ONNX bytes) with the policy's detector settings.
    #[cfg(feature = "pixels")]
    pub fn load_model(mut self, onnx: &[u8]) -> Result<Self> {
        self.set_model(onnx)?;
        Ok(self)
    }

    /// As `load_model`, in place.
    #[cfg(feature = "pixels")]
    pub fn set_model(&mut self, onnx: &[u8]) -> Result<()> {
        let det = crate::detect::Detector::from_bytes(onnx, self.detect_options()).map_err(|e| Error::new(crate::error::ErrorKind::Pixels, e))?;
        self.detector = Some(Arc::new(det));
        Ok(())
    }

    /// As `set_model`, taking the detector from `cache` when it holds this model with this
    /// policy's detector settings (its plans included), else loading it there.
    #[cfg(feature = "pixels")]
    pub fn set_model_cached(&mut self, onnx: &[u8], cache: &crate::detect::DetectorCache) -> Result<()> {
        let det = cache.get_or_load(onnx, self.detect_options()).map_err(|e| Error::new(crate::error::ErrorKind::Pixels, e))?;
        self.detector = Some(det);
        Ok(())
    }

    /// The text detector in use, if a model is loaded.
    #[cfg(feature = "pixels")]
    pub fn detector(&self) -> Option<&Arc<crate::detect::Detector>> {
        self.detector.as_ref()
    }

    /// The detector settings of this policy.
    #[cfg(feature = "pixels")]
    fn detect_options(&self) -> crate::detect::DetectOptions {
        let p = &self.policy.pixels;
        crate::detect::DetectOptions {
            min_side: p.min_side,
            max_side: p.max_side,
            post: crate::detect::PostParams { thresh: p.threshold, box_thresh: p.box_threshold, ..Default::default() },
            ..Default::default()
        }
    }

    /// Share an already loaded detector (its own settings apply).
    #[cfg(feature = "pixels")]
    pub fn with_detector(mut self, detector: Arc<crate::detect::Detector>) -> Self {
        self.detector = Some(detector);
        self
    }

    /// True when a text detection model is loaded.
    pub fn has_model(&self) -> bool {
        #[cfg(feature = "pixels")]
        return self.detector.is_some();
        #[cfg(not(feature = "pixels"))]
        false
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The secret as hex, so a front end can save it and reuse it in a later run.
    pub fn secret_hex(&self) -> String {
        self.secret.to_hex()
    }

    pub fn mappings(&self) -> Option<Mappings> {
        self.mappings.as_ref().map(|m| m.lock().expect("mappings lock").clone())
    }

    /// First pass over a batch: add this file's identifying values to its patient's
    /// vocabulary, so that free text in any file of the patient is checked against all of
    /// them. Reads the header only, so `input` may be the first bytes of a large file (the
    /// page reads a prefix): a Pixel Data value longer than what follows is not an error.
    pub fn harvest(&self, input: &[u8]) -> Result<()> {
        self.harvest_from(input)
    }

    /// As `harvest`, from a reader (a file): nothing past Pixel Data is read.
    pub fn harvest_from(&self, reader: impl std::io::Read) -> Result<()> {
        let obj = io::parse_header_from(reader, &self.policy.limits)?;
        self.harvest_parsed(&obj);
        Ok(())
    }

    /// Add `obj`'s identifying values to its patient's; returns them.
    fn harvest_parsed(&self, obj: &dicom_object::DefaultDicomObject) -> harvest::Harvest {
        let key = harvest::patient_key(obj);
        let pairs = self.harvest_object(obj);
        if let Some(entry) = self.patients.read().expect("vocabulary lock").entries.get(&key.0) {
            if pairs.is_subset(&entry.harvested) {
                return pairs;
            }
        }
        self.patients.write().expect("vocabulary lock").entries.entry(key.0).or_default().add(&pairs);
        pairs
    }

    /// The patient's vocabulary with the harvested `pairs` added. When nothing is new (the usual case
    /// after the harvest pass) the shared one is returned as is, matchers already built.
    fn merge_patient_vocabulary(&self, key: &PatientKey, pairs: &harvest::Harvest) -> Arc<PatientVocabulary> {
        {
            let patients = self.patients.read().expect("vocabulary lock");
            if let Some(entry) = patients.entries.get(&key.0) {
                if let Some(current) = entry.current().filter(|_| pairs.is_subset(&entry.harvested)) {
                    patients.touch(entry);
                    return current.clone();
                }
            }
        }
        let mut guard = self.patients.write().expect("vocabulary lock");
        let patients = &mut *guard;
        let entry = patients.entries.entry(key.0.clone()).or_default();
        entry.add(pairs);
        let vocabulary = entry.vocabulary();
        patients.touch(&patients.entries[&key.0]);
        patients.built.insert(key.0.clone());
        patients.bound(&key.0, self.patient_memory);
        vocabulary
    }

    /// How many patients hold a built vocabulary, and about how many bytes those hold.
    pub fn patient_memory(&self) -> (usize, usize) {
        let patients = self.patients.read().expect("vocabulary lock");
        let bytes = patients.built.iter().filter_map(|k| Some(patients.entries.get(k)?.built.as_ref()?.memory_bytes())).sum();
        (patients.built.len(), bytes)
    }

    /// Bound the memory of the patients' built vocabularies and matchers to about `bytes`
    /// (default [`PATIENT_MEMORY`]): those least recently used are dropped and built again
    /// when asked for, with the same result.
    pub fn patient_memory_budget(mut self, bytes: usize) -> Self {
        self.patient_memory = bytes;
        self
    }

    /// The patient's date offset: the first of a series of candidates keyed by the secret and
    /// the patient (the first is the one used whenever it is safe) that moves none of the
    /// patient's harvested dates onto another of them. A shifted date equal to one of the
    /// patient's real dates would put that date in the output: the verifier would find it and
    /// withhold the file (measured: about one batch in twenty with a random secret).
    fn choose_offset(&self, key: &PatientKey, dates: &HashSet<i64>) -> Offset {
        // A date shifted with its paired time may roll over to the next day.
        let collides = |o: &Offset| dates.iter().any(|d| (0..=1).any(|carry| dates.contains(&(d + o.days + carry))));
        (0..OFFSET_CANDIDATES).map(|k| self.offset_candidate(key, k)).find(|o| !collides(o)).unwrap_or_else(|| self.offset_candidate(key, 0))
    }

    /// Candidate `attempt` of the patient's date offset (attempt 0: the plain keyed offset).
    fn offset_candidate(&self, key: &PatientKey, attempt: u32) -> Offset {
        let mac = if attempt == 0 {
            self.secret.mac("dateshift", key.0.as_bytes())
        } else {
            self.secret.mac("dateshift", format!("{}#{attempt}", key.0).as_bytes())
        };
        let ds = &self.policy.date_shift;
        let span = (ds.max_days as i64 - ds.min_days as i64 + 1) as u64;
        let r = u64::from_be_bytes(mac[..8].try_into().unwrap());
        let days = ds.min_days as i64 + (r % span) as i64;
        let seconds = if ds.shift_times {
            // Never zero, so that no time value stays as it was.
            1 + (u64::from_be_bytes(mac[8..16].try_into().unwrap()) % 86_399) as i64
        } else {
            0
        };
        Offset { days, seconds }
    }

    pub(crate) fn record_uid(&self, old: &str, new: &str) {
        if let Some(m) = &self.mappings {
            m.lock().expect("mappings lock").uids.insert(old.to_string(), new.to_string());
        }
    }

    /// De-identify one DICOM file. On success the output has passed the independent
    /// verification; on any failure nothing is returned but the reason.
    pub fn deidentify(&self, input: &[u8]) -> Result<Output> {
        let (file, repairs) = io::parse_framed(input, false, &self.policy.limits)?;
        self.deidentify_parsed(file, repairs)
    }

    /// As `deidentify`, taking the input: it is dropped once parsed, so that a large file
    /// is not held as bytes and as a data set at once (the CLI and the page use this).
    pub fn deidentify_owned(&self, input: Vec<u8>) -> Result<Output> {
        let (file, repairs) = io::parse_framed(&input, false, &self.policy.limits)?;
        drop(input);
        self.deidentify_parsed(file, repairs)
    }

    /// As `deidentify_owned`, with detections of this file's pixels already made by
    /// [`Deidentifier::detect_part`] (on other threads, or other workers of a page, given the
    /// same file and policy): the jobs they hold are not run again. A share made from other
    /// pixels or options is ignored, so a wrong one costs time, never a missed box.
    pub fn deidentify_owned_with(&self, input: Vec<u8>, shares: &[DetectionShare]) -> Result<Output> {
        self.deidentify_parsed_file(self.parse_file(input)?, shares)
    }

    /// Parse a file once for the calls that share out its detection and then clean it
    /// ([`Deidentifier::parts_of`], [`Deidentifier::detect_part_of`],
    /// [`Deidentifier::deidentify_parsed_file`]): a large clip is not parsed again for each.
    /// The input is dropped once parsed.
    pub fn parse_file(&self, input: Vec<u8>) -> Result<ParsedFile> {
        let (file, repairs) = io::parse_framed(&input, false, &self.policy.limits)?;
        drop(input);
        Ok(ParsedFile { file, repairs })
    }

    /// How many detector runs cleaning this file's pixels takes that can be shared out with
    /// [`Deidentifier::detect_part`] (0 when there are none: no pixels to detect on, or a
    /// frame strategy whose runs depend on each other).
    pub fn detection_jobs(&self, input: &[u8]) -> Result<u32> {
        let (file, _) = io::parse_framed(input, false, &self.policy.limits)?;
        pixel_step::detection_jobs(self, &file)
    }

    /// Into how many parts this file's detector runs are worth sharing out when `helpers`
    /// other threads (or workers) are free: 1 (this thread alone) unless the file has at
    /// least [`MIN_JOBS_TO_SHARE`] jobs, else at most one part per job. The CLI and the page
    /// both ask here, so the threshold lives in one place.
    pub fn detection_parts(&self, input: &[u8], helpers: u32) -> Result<u32> {
        if helpers == 0 {
            return Ok(1);
        }
        let (file, repairs) = io::parse_framed(input, false, &self.policy.limits)?;
        self.parts_of(&ParsedFile { file, repairs }, helpers)
    }

    /// As [`Deidentifier::detection_parts`], from the first bytes of the file (its header up
    /// to Pixel Data is enough), so that a worker can ask for help before it has read a large
    /// clip: the helpers then read it at the same time. An error means the header alone does
    /// not say (deflated, or longer than the bytes given): ask again with the whole file.
    pub fn detection_parts_of_header(&self, header: &[u8], helpers: u32) -> Result<u32> {
        if helpers == 0 {
            return Ok(1);
        }
        let obj = io::parse_header_from(header, &self.policy.limits)?;
        Ok(parts_for(pixel_step::detection_jobs_of_header(self, &obj)?, helpers))
    }

    /// As [`Deidentifier::detection_parts`], for a file already parsed.
    pub fn parts_of(&self, file: &ParsedFile, helpers: u32) -> Result<u32> {
        if helpers == 0 {
            return Ok(1);
        }
        Ok(parts_for(pixel_step::detection_jobs(self, &file.file)?, helpers))
    }

    /// Build the text detector's plans for the most common image sizes now (see
    /// [`crate::detect::COMMON_IMAGE_SIZES`]), so that a front end with idle time (a page
    /// waiting for files) spends it here rather than on its first images. Returns how many
    /// of those sizes have a plan now (built now, or before by a detector shared through a
    /// [`crate::detect::DetectorCache`]); 0 when this policy detects nothing or no model is
    /// loaded.
    pub fn prepare_detector(&self) -> Result<u32> {
        #[cfg(feature = "pixels")]
        if let (Some(det), crate::policy::pixels::PixelMode::Detect) = (&self.detector, self.policy.pixels.mode) {
            let sizes = crate::detect::COMMON_IMAGE_SIZES;
            det.prepare(sizes).map_err(|e| Error::new(crate::error::ErrorKind::Pixels, e))?;
            return Ok(sizes.len() as u32);
        }
        Ok(0)
    }

    /// The detection jobs `part`, `part + parts`, ... (of [`Deidentifier::detection_jobs`])
    /// of this file's pixels, for [`Deidentifier::deidentify_owned_with`]. Reads the pixels
    /// only: nothing of the header is de-identified or recorded here.
    pub fn detect_part(&self, input: &[u8], part: u32, parts: u32) -> Result<DetectionShare> {
        let (file, repairs) = io::parse_framed(input, false, &self.policy.limits)?;
        self.detect_part_of(&ParsedFile { file, repairs }, part, parts)
    }

    /// As [`Deidentifier::detect_part`], for a file already parsed (the CLI's helping
    /// threads share one parse of it).
    pub fn detect_part_of(&self, file: &ParsedFile, part: u32, parts: u32) -> Result<DetectionShare> {
        let ts = io::transfer_syntax(file.file.meta());
        io::check_transfer_syntax(&ts)?;
        pixel_step::detect_part(self, &file.file, &ts, part, parts)
    }

    /// As [`Deidentifier::deidentify_owned_with`], for a file already parsed.
    pub fn deidentify_parsed_file(&self, file: ParsedFile, shares: &[DetectionShare]) -> Result<Output> {
        self.deidentify_parsed_with(file.file, file.repairs, shares)
    }

    fn deidentify_parsed(&self, file: dicom_object::DefaultDicomObject, repairs: Vec<framing::Repair>) -> Result<Output> {
        self.deidentify_parsed_with(file, repairs, &[])
    }

    fn deidentify_parsed_with(&self, file: dicom_object::DefaultDicomObject, repairs: Vec<framing::Repair>, shares: &[DetectionShare]) -> Result<Output> {
        let (bytes, mut report, patient) = self.transform(file, PixelStep::Run(shares), None)?;
        report.input_repairs = repairs.iter().map(framing::Repair::describe).collect();
        report.verification =
            crate::verify::verify_output(&bytes, patient.needles(&self.policy), &report.removed_paths, &self.policy)?;
        Ok(Output { bytes, report })
    }

    /// Check a de-identified file against its original: the vocabulary harvested from the
    /// original (and its patient's other files seen so far) and the elements the policy
    /// removes. Used by `dicom-deid verify`.
    pub fn verify_pair(&self, original: &[u8], output: &[u8]) -> Result<crate::report::Verification> {
        let file = io::parse(original, false, &self.policy.limits)?;
        let (_, report, patient) = self.transform(file, PixelStep::Skip, None)?;
        crate::verify::verify_output(output, patient.needles(&self.policy), &report.removed_paths, &self.policy)
    }

    /// True when this policy never changes Pixel Data (`pixels.mode` off), so that
    /// [`Deidentifier::read_head`] may take files; false: it declines every file.
    pub fn takes_heads(&self) -> bool {
        self.policy.pixels.mode == crate::policy::pixels::PixelMode::Off
    }

    /// The first bytes of a file read from `reader` (`file_len` bytes long) up to its Pixel
    /// Data, when this policy leaves every file's pixels as they are (`pixels.mode` off) and
    /// the file can be written again around that element's value, which is then never read
    /// (see [`Deidentifier::deidentify_head`]). `None`: use `deidentify` (the file needs a
    /// repair to be read, is deflated, has no Pixel Data of explicit, even length that ends
    /// the file, holds elements that sort after Pixel Data before it, or the policy may
    /// clean pixels). An error: the head does not parse.
    pub fn read_head(&self, reader: impl std::io::Read, file_len: u64) -> Result<Option<Head>> {
        if !self.takes_heads() {
            return Ok(None);
        }
        let Some((mut bytes, at)) = structure::read_head(reader, &self.policy.limits)? else { return Ok(None) };
        let Some(len) = at.len else { return Ok(None) };
        let header_len = if at.explicit_vr { 12 } else { 8 };
        let header_start = at.value_start.checked_sub(header_len).map(|s| s as usize);
        let tag_bytes = header_start.and_then(|s| bytes.get(s..s + 4));
        let is_pixel_tag = tag_bytes.is_some_and(|t| t == [0xE0, 0x7F, 0x10, 0x00] || t == [0x7F, 0xE0, 0x00, 0x10]);
        let value_end = at.value_start + u64::from(len);
        let explicit_ok = !at.explicit_vr || matches!(at.vr, dicom_core::VR::OB | dicom_core::VR::OW);
        if !is_pixel_tag || !explicit_ok || len % 2 == 1 || value_end != file_len || (bytes.len() as u64) < at.value_start {
            return Ok(None);
        }
        let header_start = header_start.expect("checked above");
        let pixel_header = bytes[header_start..at.value_start as usize].to_vec();
        bytes.truncate(header_start);
        let file = io::parse_head(&bytes)?;
        if file.iter().any(|e| dicom_core::header::Header::tag(e) >= PIXEL_DATA) {
            return Ok(None); // elements that sort after Pixel Data: written after it
        }
        Ok(Some(Head { file, harvested: None, head_len: header_start, pixel_header, pixel_value: at.value_start..value_end }))
    }

    /// As `harvest`, from a head read by [`Deidentifier::read_head`] (which then serves
    /// `deidentify_head` without being read or parsed again).
    pub fn harvest_head(&self, head: &mut Head) {
        head.harvested = Some(self.harvest_parsed(&head.file));
    }

    /// De-identify and verify a file's head from [`Deidentifier::read_head`]: the output is
    /// the returned bytes followed by the input's `pixel_value` bytes, as `deidentify` would
    /// write it, without reading or copying the pixels here.
    pub fn deidentify_head(&self, head: Head) -> Result<HeadOutput> {
        let (mut bytes, mut report, patient) = self.transform(head.file, PixelStep::PassThrough, head.harvested)?;
        report.verification =
            crate::verify::verify_output(&bytes, patient.needles(&self.policy), &report.removed_paths, &self.policy)?;
        bytes.extend_from_slice(&head.pixel_header);
        Ok(HeadOutput { bytes, report, pixel_value: head.pixel_value })
    }

    /// Everything but the verification: the new bytes, the report and the vocabulary.
    /// `harvested`: what `harvest_object` gives for `file`, if it was already made.
    fn transform(
        &self,
        file: dicom_object::DefaultDicomObject,
        pixels: PixelStep<'_>,
        harvested: Option<harvest::Harvest>,
    ) -> Result<(Vec<u8>, FileReport, Arc<PatientVocabulary>)> {
        let ts = io::transfer_syntax(file.meta());
        io::check_transfer_syntax(&ts)?;
        io::check_complete(&file, matches!(pixels, PixelStep::PassThrough))?;
        let key = harvest::patient_key(&file);
        let own = harvested.unwrap_or_else(|| self.harvest_object(&file));
        let patient = self.merge_patient_vocabulary(&key, &own);
        let pseudo_id = pseudonym(&self.secret, &self.policy.pseudonyms.patient_id, &key.0).map_err(Error::policy)?;
        let pseudo_name = pseudonym(&self.secret, &self.policy.pseudonyms.patient_name, &key.0).map_err(Error::policy)?;
        if let Some(m) = &self.mappings {
            if let Some(id) = &key.1 {
                m.lock().expect("mappings lock").patient_ids.insert(id.clone(), pseudo_id.clone());
            }
        }
        let offset = *patient.offset.get_or_init(|| self.choose_offset(&key, &patient.dates));
        let mut run = apply::FileRun::new(self, &patient, offset, pseudo_name, pseudo_id);
        let (meta, obj) = (file.meta().clone(), file.into_inner());
        let mut obj = run.process_root(obj);
        let pixels = match pixels {
            PixelStep::Run(shares) => pixel_step::run(self, &mut obj, &ts, shares)?,
            PixelStep::PassThrough => pixel_step::run_passing_pixels(self, &obj)?,
            PixelStep::Skip => None,
        };
        let cleaned = pixels.as_ref().is_some_and(|p| p.cleaned());
        markers::add(&mut obj, &self.policy.options, cleaned, &mut run.report);
        let uid = |g: u16, e: u16| io::element_text(&obj, dicom_core::Tag(g, e)).unwrap_or_default();
        let uids = (uid(0x0020, 0x000D), uid(0x0020, 0x000E), uid(0x0008, 0x0018));
        let out_ts = match &pixels {
            Some(p) if p.cleaned() => p.transfer_syntax.clone(),
            _ => ts,
        };
        let bytes = io::write(obj, &meta, &out_ts, |old| run.map_uid(old))?;
        let mut report = run.into_report(out_ts);
        report.pixels = pixels;
        (report.study_instance_uid, report.series_instance_uid, report.sop_instance_uid) = uids;
        Ok((bytes, report, patient))
    }
}
