//! The native command-line front end over the dicom-deid core.

use clap::{Args, Parser, Subcommand};
use dicom_deid::report::FileReport as Report;
use dicom_deid::{Deidentifier, ErrorKind, ParsedFile, Policy};
use std::collections::HashSet;
use std::fs;
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "dicom-deid", version, about = "De-identify DICOM files (PS3.15 Annex E) on this machine.")]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Check de-identified files against their originals: no harvested PHI, no removed element.
    Verify(VerifyArgs),
    /// Print the default policy, or import the seed algorithm's configuration as a policy.
    Policy(PolicyArgs),
}

#[derive(Args)]
struct RunArgs {
    /// Files or folders (searched recursively).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output folder; outputs mirror the input paths.
    #[arg(long, short, required = true)]
    out: Option<PathBuf>,
    /// Output layout: "mirror" (default) or "patient/study/series" (pseudonymous names).
    #[arg(long, default_value = "mirror")]
    layout: String,
    /// Policy JSON (see README); default: the built-in policy.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Secret key file: read if it exists, else created with a random secret. Same secret,
    /// same pseudonyms, UIDs and date offsets across runs.
    #[arg(long)]
    secret_file: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Write a JSON line per file: each element changed, with rule and action.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Include original and new values in the report (they are PHI).
    #[arg(long)]
    report_values: bool,
    /// Write uid_mapping.csv and patient_id_mapping.csv (id_old,id_new) to this folder.
    #[arg(long)]
    mappings: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Text detection model (ONNX) instead of the one built in (pixels.mode detect).
    #[arg(long)]
    model: Option<PathBuf>,
}

#[derive(Args)]
struct VerifyArgs {
    /// The original file or folder.
    #[arg(long)]
    original: PathBuf,
    /// The de-identified file or folder (same relative paths).
    #[arg(long)]
    deidentified: PathBuf,
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct PolicyArgs {
    /// The seed algorithm's profile CSV (base_anonymization_profile.csv).
    #[arg(long, requires = "seed_rules")]
    seed_profile: Option<PathBuf>,
    /// The seed algorithm's rules JSON (custom_rules.json).
    #[arg(long, requires = "seed_profile")]
    seed_rules: Option<PathBuf>,
    /// Add the known-region rules of a deid recipe (pydicom/deid's deid.dicom, fetched by
    /// tools/fetch-deid-rules.sh) to pixels.regions.
    #[arg(long)]
    deid_recipe: Option<PathBuf>,
}

fn main() {
    // dicom-rs ends every data set it reads with an end-of-input error; with RUST_BACKTRACE=1
    // in the shell each of those captured a backtrace (three per file, 4% of a header-only
    // run). Library backtraces stay one variable away (RUST_LIB_BACKTRACE=1); panics still
    // follow RUST_BACKTRACE. Set before any thread starts.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    without_huge_pages();
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Verify(v)) => verify(v),
        Some(Command::Policy(p)) => policy(p),
        None => run(cli.run),
    };
    std::process::exit(code);
}

/// Transparent huge pages off for this process. mimalloc asks for them on its arenas, and
/// a header-only batch then spent a tenth of its time having 2 MB pages zeroed of which it
/// used a few KB (`docs/benchmarks.md`, session 20).
fn without_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn fail(msg: impl std::fmt::Display) -> i32 {
    eprintln!("dicom-deid: {msg}");
    2
}

fn load_policy(config: &Option<PathBuf>) -> Result<Policy, String> {
    match config {
        None => Ok(Policy::default()),
        Some(p) => {
            let text = fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Policy::from_json(&text).map_err(|e| format!("{}: {e}", p.display()))
        }
    }
}

fn policy(p: PolicyArgs) -> i32 {
    let policy = match (p.seed_profile, p.seed_rules) {
        (Some(csv), Some(rules)) => {
            let read = |f: &Path| fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()));
            match read(&csv).and_then(|c| read(&rules).map(|r| (c, r))) {
                Ok((c, r)) => match dicom_deid::policy::seed::import_with_notes(&c, &r) {
                    Ok((p, notes)) => {
                        for n in notes {
                            eprintln!("dicom-deid: seed import: {n}");
                        }
                        p
                    }
                    Err(e) => return fail(e),
                },
                Err(e) => return fail(e),
            }
        }
        _ => Policy::default(),
    };
    let mut policy = policy;
    if let Some(recipe) = p.deid_recipe {
        let text = match fs::read_to_string(&recipe) {
            Ok(t) => t,
            Err(e) => return fail(format!("{}: {e}", recipe.display())),
        };
        let (rules, notes) = dicom_deid::policy::deid_rules::import_deid_recipe(&text);
        for n in notes {
            eprintln!("dicom-deid: deid recipe: {n}");
        }
        eprintln!("dicom-deid: deid recipe: {} region rules imported", rules.len());
        policy.pixels.regions.extend(rules);
    }
    println!("{}", policy.to_json());
    0
}

/// The key material: from the secret file, or a new random secret saved there.
fn load_secret(path: &Option<PathBuf>) -> Result<Option<Vec<u8>>, String> {
    let Some(path) = path else { return Ok(None) };
    if path.exists() {
        let s = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let trimmed: Vec<u8> = String::from_utf8_lossy(&s).trim().as_bytes().to_vec();
        if trimmed.is_empty() {
            return Err(format!("{}: the secret file is empty", path.display()));
        }
        return Ok(Some(trimmed));
    }
    let hex = dicom_deid::secret::random_material_hex().map_err(|e| e.to_string())?;
    write_private(path, hex.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("dicom-deid: new secret saved to {} (keep it private; reuse it for consistent results)", path.display());
    Ok(Some(hex.into_bytes()))
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(data)
}

/// Every file under the inputs, with the relative path its output mirrors.
fn collect_inputs(inputs: &[PathBuf]) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let mut files = Vec::new();
    for input in inputs {
        let meta = fs::metadata(input).map_err(|e| format!("{}: {e}", input.display()))?;
        if meta.is_dir() {
            let mut stack = vec![input.clone()];
            while let Some(dir) = stack.pop() {
                let mut entries: Vec<_> = fs::read_dir(&dir)
                    .map_err(|e| format!("{}: {e}", dir.display()))?
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .collect();
                entries.sort();
                for p in entries {
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.is_file() {
                        let rel = p.strip_prefix(input).unwrap_or(&p).to_path_buf();
                        files.push((p, rel));
                    }
                }
            }
        } else {
            let name = input.file_name().map(PathBuf::from).unwrap_or_else(|| input.clone());
            files.push((input.clone(), name));
        }
    }
    Ok(files)
}

/// Write through a temporary file and a rename, so no partial output is ever visible.
fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, data, None)
}

/// As `write_atomic`, `data` followed by the bytes `range` of the open file `tail` (copied
/// by the kernel where it can: `std::io::copy` uses copy_file_range between files on Linux).
fn write_atomic_with(path: &Path, data: &[u8], tail: Option<(fs::File, Range<u64>)>) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut out = fs::File::create(&tmp)?;
        out.write_all(data)?;
        if let Some((mut input, range)) = tail {
            input.seek(SeekFrom::Start(range.start))?;
            let want = range.end - range.start;
            let copied = std::io::copy(&mut input.take(want), &mut out)?;
            if copied != want {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the input file changed while it was read"));
            }
        }
        Ok(())
    };
    let res = write().and_then(|_| fs::rename(&tmp, path));
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

struct Progress {
    on: bool,
    total: usize,
    done: AtomicUsize,
    failed: AtomicUsize,
    label: &'static str,
}

impl Progress {
    fn tick(&self, failed: bool) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if self.on && (done == self.total || done % 8 == 0) {
            let width = 30;
            let filled = width * done / self.total.max(1);
            eprint!(
                "\r{} [{}{}] {done}/{} files, {} failed ",
                self.label,
                "=".repeat(filled),
                " ".repeat(width - filled),
                self.total,
                self.failed.load(Ordering::Relaxed)
            );
            if done == self.total {
                eprintln!();
            }
        }
    }
}

/// Run `work` over the items on `jobs` threads. `work` is also told whether the item was
/// the last one queued (the other threads then run out of work as they finish theirs).
fn parallel<T: Sync>(items: &[T], jobs: usize, work: impl Fn(usize, &T, bool) + Sync) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                work(i, item, i + 1 == items.len());
            });
        }
    });
}

enum Outcome {
    // Boxed: a report is large, the other outcomes a message.
    Done { out_rel: PathBuf, report: Box<dicom_deid::FileReport> },
    Skipped(String),
    Failed(String),
}

/// The detector for pixels.mode detect: `--model`, else the model built in. Without either,
/// images are withheld with the reason (the engine fails closed), and we say so up front.
fn load_model(deid: Deidentifier, path: &Option<PathBuf>) -> dicom_deid::Result<Deidentifier> {
    use dicom_deid::policy::pixels::PixelMode;
    if deid.policy().pixels.mode != PixelMode::Detect {
        return Ok(deid);
    }
    let bytes = match path {
        Some(p) => Some(fs::read(p).map_err(|e| dicom_deid::Error::new(dicom_deid::ErrorKind::Io, format!("{}: {e}", p.display())))?),
        None => dicom_deid::embedded_model().map(<[u8]>::to_vec),
    };
    #[cfg(feature = "pixels")]
    if let Some(bytes) = bytes {
        return deid.load_model(&bytes);
    }
    let _ = bytes;
    eprintln!(
        "dicom-deid: warning: no text detection model in this build (see tools/fetch-model.sh or --model); \
         files with pixel data will be withheld unless pixels.mode is rules or off"
    );
    Ok(deid)
}

fn run(args: RunArgs) -> i32 {
    let out_dir = args.out.clone().expect("clap requires --out");
    if args.layout != "mirror" && args.layout != "patient/study/series" {
        return fail(format!("--layout must be 'mirror' or 'patient/study/series', not '{}'", args.layout));
    }
    let policy = match load_policy(&args.config) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let secret = match load_secret(&args.secret_file) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let files = match collect_inputs(&args.inputs) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let deid = match Deidentifier::new(policy, secret.as_deref()).and_then(|d| load_model(d, &args.model)) {
        Ok(d) => d.record_mappings(args.mappings.is_some()).report_values(args.report_values).report_elements(args.report.is_some()),
        Err(e) => return fail(e),
    };
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let show = !args.quiet && std::io::stderr().is_terminal();
    let started = Instant::now();

    // Pass 1: harvest every file's identifying values into its patient's vocabulary.
    let harvest = Progress { on: show, total: files.len(), done: 0.into(), failed: 0.into(), label: "harvest" };
    let kept: Mutex<Vec<Option<KeptHead>>> = Mutex::new((0..files.len()).map(|_| None).collect());
    let budget = AtomicUsize::new(KEPT_HEADS_BYTES);
    parallel(&files, jobs, |i, (path, _), _| {
        let harvested = harvest_file(&deid, path, &budget);
        harvest.tick(harvested.is_err());
        if let Ok(Some(head)) = harvested {
            kept.lock().unwrap()[i] = Some(head);
        }
    });
    let kept: Vec<Mutex<Option<KeptHead>>> = kept.into_inner().unwrap().into_iter().map(Mutex::new).collect();

    // Pass 2: de-identify, verify, write.
    let progress = Progress { on: show, total: files.len(), done: 0.into(), failed: 0.into(), label: "de-identify" };
    let outcomes: Mutex<Vec<Option<Outcome>>> = Mutex::new((0..files.len()).map(|_| None).collect());
    let used_paths: Mutex<HashSet<PathBuf>> = Mutex::new(HashSet::new());
    parallel(&files, jobs, |i, (path, rel), last| {
        // The last file's detection is shared out with the threads that have run out of files.
        let helpers = if last { jobs - 1 } else { 0 };
        let head = kept[i].lock().unwrap().take();
        let outcome = process_one(&deid, path, rel, head, &out_dir, &args.layout, &used_paths, helpers);
        progress.tick(matches!(outcome, Outcome::Failed(_)));
        outcomes.lock().unwrap()[i] = Some(outcome);
    });
    let outcomes: Vec<Outcome> = outcomes.into_inner().unwrap().into_iter().map(|o| o.expect("every file processed")).collect();

    let (mut ok, mut skipped, mut failed) = (0, 0, 0);
    let mut report_lines = Vec::new();
    for ((_, rel), outcome) in files.iter().zip(&outcomes) {
        let line = match outcome {
            Outcome::Done { out_rel, report } => {
                ok += 1;
                // Only built when asked for: the JSON of every file's report costs about as
                // much as the header's de-identification.
                args.report.as_ref().map(|_| serde_json::json!({"file": rel, "status": "ok", "output": out_rel, "report": report}))
            }
            Outcome::Skipped(why) => {
                skipped += 1;
                eprintln!("dicom-deid: skipped {}: {why}", rel.display());
                Some(serde_json::json!({"file": rel, "status": "skipped", "reason": why}))
            }
            Outcome::Failed(why) => {
                failed += 1;
                eprintln!("dicom-deid: FAILED {}: {why} (no output written)", rel.display());
                Some(serde_json::json!({"file": rel, "status": "failed", "reason": why}))
            }
        };
        report_lines.extend(line.map(|l| l.to_string()));
    }
    if let Some(report) = &args.report {
        let text = report_lines.join("\n") + "\n";
        if let Err(e) = write_atomic(report, text.as_bytes()) {
            return fail(format!("{}: {e}", report.display()));
        }
    }
    if let Some(dir) = &args.mappings {
        if let Err(e) = write_mappings(&deid, dir) {
            return fail(format!("{}: {e}", dir.display()));
        }
        eprintln!("dicom-deid: mapping tables written to {} (they re-identify: keep them private)", dir.display());
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = files.len() as f64 / secs.max(1e-9);
    let rate = if rate < 10.0 { format!("{rate:.1}") } else { format!("{rate:.0}") };
    eprintln!("dicom-deid: {ok} de-identified, {skipped} skipped (not DICOM), {failed} failed, in {secs:.1} s ({rate} files/s)");
    if failed > 0 {
        1
    } else {
        0
    }
}

#[allow(clippy::too_many_arguments)]
fn process_one(
    deid: &Deidentifier,
    path: &Path,
    rel: &Path,
    kept: Option<KeptHead>,
    out_dir: &Path,
    layout: &str,
    used: &Mutex<HashSet<PathBuf>>,
    helpers: usize,
) -> Outcome {
    let Cleaned { bytes, report, tail } = match clean_file(deid, path, kept, helpers) {
        Ok(o) => o,
        Err(e) if e.kind == ErrorKind::NotDicom => return Outcome::Skipped(e.message),
        Err(e) => return Outcome::Failed(e.message),
    };
    let out_rel = if layout == "mirror" {
        rel.to_path_buf()
    } else {
        let r = &report;
        PathBuf::from(path_component(&r.patient))
            .join(path_component(&r.study_instance_uid))
            .join(path_component(&r.series_instance_uid))
            .join(format!("{}.dcm", path_component(&r.sop_instance_uid)))
    };
    if !used.lock().unwrap().insert(out_rel.clone()) {
        return Outcome::Failed(format!("output path {} is already used by another input", out_rel.display()));
    }
    match write_atomic_with(&out_dir.join(&out_rel), &bytes, tail) {
        Ok(()) => Outcome::Done { out_rel, report: Box::new(report) },
        Err(e) => Outcome::Failed(format!("cannot write {}: {e}", out_rel.display())),
    }
}

/// A de-identified file: its bytes and report, and the range of the input's bytes that
/// follows them unchanged when only the head was read (`Deidentifier::read_head`: Pixel Data
/// that the policy leaves as it is is copied file to file, never read here).
struct Cleaned {
    bytes: Vec<u8>,
    report: Report,
    tail: Option<(fs::File, Range<u64>)>,
}

/// The size and modification time of a file, to tell that it has not changed between passes.
type Stamp = (u64, Option<std::time::SystemTime>);

fn stamp(meta: &fs::Metadata) -> Stamp {
    (meta.len(), meta.modified().ok())
}

/// A head read in pass 1 ([`Deidentifier::read_head`]) and kept for pass 2, with the stamp of
/// the file it was read from.
struct KeptHead {
    head: dicom_deid::Head,
    stamp: Stamp,
}

/// What the heads kept between passes may take, counted as their files' bytes before Pixel
/// Data (their parsed form takes about four times more: 2,000 CT heads, 45 MB); past it,
/// pass 2 reads them again.
const KEPT_HEADS_BYTES: usize = 32 << 20;

/// Pass 1 for one file: its identifying values into its patient's vocabulary (headers only:
/// pixel data is not read). A head that the head path takes is kept for pass 2 while
/// `budget` lasts, so that pass 2 neither reads nor parses it again.
fn harvest_file(deid: &Deidentifier, path: &Path, budget: &AtomicUsize) -> dicom_deid::Result<Option<KeptHead>> {
    let io_error = |e: std::io::Error| dicom_deid::Error::new(ErrorKind::Io, format!("cannot read: {e}"));
    let mut file = fs::File::open(path).map_err(io_error)?;
    if deid.takes_heads() {
        let meta = file.metadata().map_err(io_error)?;
        if let Ok(Some(mut head)) = deid.read_head(&file, meta.len()) {
            deid.harvest_head(&mut head);
            let size = head.bytes_before_pixels();
            let kept = budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(size)).is_ok();
            return Ok(kept.then(|| KeptHead { head, stamp: stamp(&meta) }));
        }
        file.rewind().map_err(io_error)?;
    }
    deid.harvest_from(std::io::BufReader::new(file)).map(|_| None)
}

fn clean_file(deid: &Deidentifier, path: &Path, kept: Option<KeptHead>, helpers: usize) -> dicom_deid::Result<Cleaned> {
    if deid.takes_heads() {
        // Any trouble reading the head leaves the file to the whole-file path, whose error
        // is the one reported.
        let opened = fs::File::open(path).and_then(|f| Ok((f.metadata()?, f))).ok();
        if let Some((meta, file)) = opened {
            // A head kept from pass 1 serves if the file has not changed since.
            let head = match kept.filter(|k| k.stamp == stamp(&meta)) {
                Some(k) => Some(k.head),
                None => deid.read_head(&file, meta.len()).ok().flatten(),
            };
            if let Some(head) = head {
                let out = deid.deidentify_head(head)?;
                return Ok(Cleaned { bytes: out.bytes, report: out.report, tail: Some((file, out.pixel_value)) });
            }
        }
    }
    let input = fs::read(path).map_err(|e| dicom_deid::Error::new(ErrorKind::Io, format!("cannot read: {e}")))?;
    // One parse serves the shared-out detection and the cleaning.
    let file = deid.parse_file(input)?;
    let shares = shared_detections(deid, &file, helpers);
    let out = deid.deidentify_parsed_file(file, &shares)?;
    Ok(Cleaned { bytes: out.bytes, report: out.report, tail: None })
}

/// A multi-frame file's detector runs (nearly all of its time) shared out between this
/// thread and `helpers` more, as the page shares them out between its workers; the shares go
/// to `deidentify_parsed_file`, which runs whatever no share holds (a part that failed
/// included) and reports any error of the file itself.
fn shared_detections(deid: &Deidentifier, file: &ParsedFile, helpers: usize) -> Vec<dicom_deid::report::DetectionShare> {
    let parts = deid.parts_of(file, helpers as u32).unwrap_or(1);
    if parts < 2 {
        return Vec::new();
    }
    std::thread::scope(|s| {
        let others: Vec<_> = (1..parts).map(|part| s.spawn(move || deid.detect_part_of(file, part, parts).ok())).collect();
        let own = deid.detect_part_of(file, 0, parts).ok();
        std::iter::once(own).chain(others.into_iter().map(|h| h.join().ok().flatten())).flatten().collect()
    })
}

/// A value made safe as one path component: no separators, no "..", never empty.
fn path_component(v: &str) -> String {
    let s: String = v.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        format!("_{s}")
    } else {
        s
    }
}

fn write_mappings(deid: &Deidentifier, dir: &Path) -> std::io::Result<()> {
    let m = deid.mappings().unwrap_or_default();
    let csv = |rows: &std::collections::BTreeMap<String, String>| {
        let mut s = String::from("id_old,id_new\n");
        for (a, b) in rows {
            s.push_str(&format!("{},{}\n", csv_field(a), csv_field(b)));
        }
        s
    };
    write_atomic(&dir.join("uid_mapping.csv"), csv(&m.uids).as_bytes())?;
    write_atomic(&dir.join("patient_id_mapping.csv"), csv(&m.patient_ids).as_bytes())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn verify(v: VerifyArgs) -> i32 {
    let policy = match load_policy(&v.config) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let deid = match Deidentifier::new(policy, None) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let originals = match collect_inputs(std::slice::from_ref(&v.original)) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    for (path, _) in &originals {
        if let Ok(b) = fs::read(path) {
            let _ = deid.harvest(&b);
        }
    }
    let single = v.deidentified.is_file();
    let (mut ok, mut bad) = (0, 0);
    for (path, rel) in &originals {
        let out = if single { v.deidentified.clone() } else { v.deidentified.join(rel) };
        let result = fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|a| fs::read(&out).map(|b| (a, b)).map_err(|e| format!("{}: {e}", out.display())))
            .and_then(|(a, b)| deid.verify_pair(&a, &b).map_err(|e| e.message));
        match result {
            Ok(_) => ok += 1,
            Err(e) if e.contains("not a DICOM file") => {}
            Err(e) => {
                bad += 1;
                eprintln!("dicom-deid: verify FAILED {}: {e}", rel.display());
            }
        }
    }
    eprintln!("dicom-deid: verify: {ok} passed, {bad} failed");
    if bad > 0 {
        1
    } else {
        0
    }
}
