//! Header-only de-identification throughput: dicom-deid (release binary) versus
//! Debian's `gdcmanon --dumb`, both run as child processes.
//!
//! ```text
//! cargo build --release
//! cargo bench --bench header_throughput -- --corpus /tmp/corpus [--corpus /tmp/big] [--runs 3]
//! ```
//!
//! Nothing from the library is called: the benchmark spawns
//! `target/release/dicom-deid` and `gdcmanon`, each into a fresh temporary
//! output folder, after an untimed `sync` and a warm-up read of every input file (so both tools see
//! a warm page cache), alternating the tools run by run so machine noise hits
//! both. For each corpus it prints a markdown table with the median wall time, with a
//! row for `cp -r` of the same files: creating and writing the outputs costs any tool at
//! least that much on the machine at hand.
//! A run whose exit status is non-zero, or whose output file count differs
//! from the input count, marks its row as failed instead of giving a figure.
//! There are no timing assertions.

use std::env;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The tags gdcmanon --dumb edits (a representative, small dumb-mode edit).
const GDCM_EDITS: &[&str] = &[
    "--remove",
    "0010,0010", // Patient's Name
    "--replace",
    "0010,0020=ANON", // Patient ID
    "--empty",
    "0010,0030", // Patient's Birth Date
    "--remove",
    "0008,0090", // Referring Physician's Name
    "--replace",
    "0008,0020=20000101", // Study Date
];

struct Args {
    corpora: Vec<PathBuf>,
    runs: usize,
}

fn usage() -> &'static str {
    "usage: cargo bench --bench header_throughput -- --corpus DIR [--corpus DIR2 ...] [--runs N]\n\
     DIR is a make_corpus.py output folder (its input/ subfolder is used) or a folder of DICOM files."
}

fn parse_args() -> Result<Args, String> {
    let mut corpora = Vec::new();
    let mut runs = 3usize;
    let mut it = env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            "--corpus" => corpora.push(PathBuf::from(
                it.next().ok_or("--corpus needs a folder")?,
            )),
            "--runs" => {
                runs = it
                    .next()
                    .ok_or("--runs needs a number")?
                    .parse()
                    .map_err(|_| "--runs needs a positive integer")?;
                if runs == 0 {
                    return Err("--runs must be at least 1".into());
                }
            }
            "-h" | "--help" => return Err(String::new()),
            other => {
                if let Some(v) = other.strip_prefix("--corpus=") {
                    corpora.push(PathBuf::from(v));
                } else if let Some(v) = other.strip_prefix("--runs=") {
                    runs = v.parse().map_err(|_| "--runs needs a positive integer")?;
                } else {
                    return Err(format!("unknown argument {other:?}"));
                }
            }
        }
    }
    if corpora.is_empty() {
        return Err("at least one --corpus DIR is required".into());
    }
    Ok(Args { corpora, runs })
}

fn manifest_dir() -> PathBuf {
    env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn release_binary() -> PathBuf {
    let dir = manifest_dir();
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(|t| {
            let t = PathBuf::from(t);
            if t.is_absolute() { t } else { dir.join(t) }
        })
        .unwrap_or_else(|| dir.join("target"));
    target
        .join("release")
        .join(format!("dicom-deid{}", env::consts::EXE_SUFFIX))
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let ft = entry.file_type()?;
        if ft.is_dir() {
            list_files(&entry.path(), out)?;
        } else if ft.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

fn count_files(dir: &Path) -> usize {
    let mut v = Vec::new();
    match list_files(dir, &mut v) {
        Ok(()) => v.len(),
        Err(_) => 0,
    }
}

/// Untimed `sync` between runs (Unix only; best effort).
fn settle() {
    #[cfg(unix)]
    let _ = Command::new("sync").stdin(Stdio::null()).status();
}

/// Read every input file once so that every timed run starts from a warm page cache.
fn warm_up(files: &[PathBuf]) {
    let mut buf = vec![0u8; 1 << 20];
    for f in files {
        if let Ok(mut h) = fs::File::open(f) {
            while let Ok(n) = h.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Tool {
    Deid { jobs: usize },
    Gdcm { procs: usize },
    /// `cp -r`: the files copied and nothing else, the floor that creating and writing the
    /// outputs sets on this machine for any tool.
    Copy,
}

struct Row {
    tool: Tool,
    times: Vec<Duration>,
    failure: Option<String>,
    na: Option<String>,
}

impl Row {
    fn median(&self) -> Option<f64> {
        if self.failure.is_some() || self.na.is_some() || self.times.is_empty() {
            return None;
        }
        let mut t: Vec<f64> = self.times.iter().map(|d| d.as_secs_f64()).collect();
        t.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = t.len();
        Some(if n % 2 == 1 { t[n / 2] } else { (t[n / 2 - 1] + t[n / 2]) / 2.0 })
    }
}

fn tail(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim();
    let lines: Vec<&str> = s.lines().collect();
    let start = lines.len().saturating_sub(3);
    lines[start..].join(" | ")
}

/// One timed run. Returns the wall time, or a failure description.
fn run_once(
    tool: Tool,
    bin: &Path,
    policy: &Path,
    input: &Path,
    halves: Option<&[PathBuf; 2]>,
    out: &Path,
    expected: usize,
) -> Result<Duration, String> {
    let _ = fs::remove_dir_all(out);
    fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let elapsed;
    match tool {
        Tool::Deid { jobs } => {
            let mut cmd = Command::new(bin);
            cmd.arg(input)
                .arg("--out")
                .arg(out)
                .arg("--jobs")
                .arg(jobs.to_string())
                .arg("--config")
                .arg(policy)
                .arg("--quiet")
                .stdin(Stdio::null());
            let t0 = Instant::now();
            let o = cmd.output().map_err(|e| format!("spawn failed: {e}"))?;
            elapsed = t0.elapsed();
            if !o.status.success() {
                return Err(format!("exit {}: {}", o.status, tail(&o.stderr)));
            }
        }
        Tool::Copy => {
            let t0 = Instant::now();
            let o = Command::new("cp").arg("-r").arg(input.join(".")).arg(out).stdin(Stdio::null()).output().map_err(|e| format!("spawn failed: {e}"))?;
            elapsed = t0.elapsed();
            if !o.status.success() {
                return Err(format!("exit {}: {}", o.status, tail(&o.stderr)));
            }
        }
        Tool::Gdcm { procs } => {
            let inputs: Vec<PathBuf> = if procs == 1 {
                vec![input.to_path_buf()]
            } else {
                halves.expect("halves").to_vec()
            };
            let mut outs = Vec::new();
            for i in 0..inputs.len() {
                let o = if procs == 1 { out.to_path_buf() } else { out.join(format!("part{i}")) };
                fs::create_dir_all(&o).map_err(|e| format!("cannot create {}: {e}", o.display()))?;
                outs.push(o);
            }
            let t0 = Instant::now();
            let mut children = Vec::new();
            for (i, o) in inputs.iter().zip(&outs) {
                let child = Command::new("gdcmanon")
                    .args(["--dumb", "--continue", "-r", "-i"])
                    .arg(i)
                    .arg("-o")
                    .arg(o)
                    .args(GDCM_EDITS)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("cannot spawn gdcmanon: {e}"))?;
                children.push(child);
            }
            let mut errs = Vec::new();
            for c in children {
                match c.wait_with_output() {
                    Ok(o) if o.status.success() => {}
                    Ok(o) => errs.push(format!("exit {}: {}", o.status, tail(&o.stderr))),
                    Err(e) => errs.push(format!("wait failed: {e}")),
                }
            }
            elapsed = t0.elapsed();
            if !errs.is_empty() {
                return Err(errs.join("; "));
            }
        }
    }
    let got = count_files(out);
    if got != expected {
        return Err(format!("wrote {got} output files for {expected} inputs"));
    }
    Ok(elapsed)
}

fn tool_name(t: Tool) -> String {
    match t {
        Tool::Deid { .. } => "dicom-deid".into(),
        Tool::Gdcm { procs: 1 } => "gdcmanon --dumb".into(),
        Tool::Gdcm { procs } => format!("gdcmanon --dumb ({procs} processes, split list)"),
        Tool::Copy => "cp -r (copy only: the floor)".into(),
    }
}

fn threads(t: Tool) -> usize {
    match t {
        Tool::Deid { jobs } => jobs,
        Tool::Gdcm { procs } => procs,
        Tool::Copy => 1,
    }
}

/// Two folders of hard links (symlinks if hard links fail), each holding half
/// of the file list, so two gdcmanon processes can split the corpus.
fn make_halves(files: &[PathBuf], work: &Path) -> Result<[PathBuf; 2], String> {
    let halves = [work.join("half0"), work.join("half1")];
    for h in &halves {
        let _ = fs::remove_dir_all(h);
        fs::create_dir_all(h).map_err(|e| e.to_string())?;
    }
    let mut sorted = files.to_vec();
    sorted.sort();
    let mid = sorted.len().div_ceil(2);
    for (i, f) in sorted.iter().enumerate() {
        let h = &halves[if i < mid { 0 } else { 1 }];
        // Flatten to a unique name so nested corpora cannot collide.
        let dest = h.join(format!("{i:06}_{}", f.file_name().unwrap().to_string_lossy()));
        if fs::hard_link(f, &dest).is_err() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(f, &dest).map_err(|e| e.to_string())?;
            #[cfg(not(unix))]
            fs::copy(f, &dest).map(|_| ()).map_err(|e| e.to_string())?;
        }
    }
    Ok(halves)
}

fn first_line(cmd: &mut Command) -> String {
    cmd.stdin(Stdio::null())
        .output()
        .ok()
        .map(|o| {
            let mut s = String::from_utf8_lossy(&o.stdout).to_string();
            if s.trim().is_empty() {
                s = String::from_utf8_lossy(&o.stderr).to_string();
            }
            s.lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_else(|| "unavailable".into())
}

fn cpu_model() -> String {
    let info = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn nproc() -> String {
    std::thread::available_parallelism()
        .map(|n| n.get().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// UTC date and time without extra dependencies (civil-from-days).
fn utc_now() -> String {
    fmt_utc(SystemTime::now())
}

fn fmt_utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-,=:+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The policy of the dicom-deid rows: the default profile, pixels off (header only: the
/// default policy also runs the text detector on every image).
const HEADER_ONLY_POLICY: &str = r#"{"pixels": {"mode": "off"}}"#;

/// Written once per benchmark run, in its work folder.
fn header_only_policy(work: &Path) -> Result<PathBuf, String> {
    let p = work.join("header-only-policy.json");
    fs::write(&p, HEADER_ONLY_POLICY).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(p)
}

/// The files dicom-deid writes under the header-only policy (an untimed run): with pixels
/// off it withholds files that declare Burned In Annotation YES, so both tools are timed on
/// the same subset. Returns (hard links to that subset in `work`, the subset, withheld count).
fn header_only_subset(bin: &Path, policy: &Path, input: &Path, files: &[PathBuf], work: &Path) -> Result<(PathBuf, Vec<PathBuf>, usize), String> {
    let probe = work.join("probe_out");
    let _ = fs::remove_dir_all(&probe);
    let _ = Command::new(bin)
        .arg(input)
        .args(["--out"])
        .arg(&probe)
        .arg("--config")
        .arg(policy)
        .args(["--jobs", "2", "--quiet"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("spawn failed: {e}"))?;
    let dir = work.join("header_only_input");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut kept = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let rel = f.strip_prefix(input).unwrap_or(f);
        if probe.join(rel).is_file() {
            let dest = dir.join(format!("{i:06}_{}", f.file_name().unwrap().to_string_lossy()));
            fs::hard_link(f, &dest).or_else(|_| fs::copy(f, &dest).map(|_| ())).map_err(|e| e.to_string())?;
            kept.push(dest);
        }
    }
    let _ = fs::remove_dir_all(&probe);
    let withheld = files.len() - kept.len();
    Ok((dir, kept, withheld))
}

fn bench_corpus(idx: usize, corpus: &Path, runs: usize, bin: &Path, policy: &Path, work: &Path) -> Result<(), String> {
    let input = if corpus.join("input").is_dir() { corpus.join("input") } else { corpus.to_path_buf() };
    let input = fs::canonicalize(&input).map_err(|e| format!("{}: {e}", input.display()))?;
    let mut all_files = Vec::new();
    list_files(&input, &mut all_files).map_err(|e| format!("{}: {e}", input.display()))?;
    if all_files.is_empty() {
        return Err(format!("{}: no files", input.display()));
    }
    let corpus_work = work.join(format!("corpus{idx}"));
    fs::create_dir_all(&corpus_work).map_err(|e| e.to_string())?;
    let shown = input.clone();
    let (input, files, withheld) = header_only_subset(bin, policy, &input, &all_files, &corpus_work)?;
    if files.is_empty() {
        return Err(format!("{}: dicom-deid wrote no file under the header-only policy", shown.display()));
    }
    let n = files.len();
    let bytes: u64 = files.iter().filter_map(|f| fs::metadata(f).ok()).map(|m| m.len()).sum();
    let mb = bytes as f64 / 1e6;

    let have_gdcm = Command::new("gdcmanon")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();

    let mut rows = vec![
        Row { tool: Tool::Deid { jobs: 1 }, times: vec![], failure: None, na: None },
        Row { tool: Tool::Gdcm { procs: 1 }, times: vec![], failure: None, na: None },
        Row { tool: Tool::Deid { jobs: 2 }, times: vec![], failure: None, na: None },
        Row { tool: Tool::Gdcm { procs: 2 }, times: vec![], failure: None, na: None },
        Row { tool: Tool::Copy, times: vec![], failure: None, na: None },
    ];
    let halves = if have_gdcm {
        match make_halves(&files, &corpus_work) {
            Ok(h) => Some(h),
            Err(e) => {
                rows[3].na = Some(format!("could not split the file list: {e}"));
                None
            }
        }
    } else {
        None
    };
    if !have_gdcm {
        for r in rows.iter_mut().filter(|r| matches!(r.tool, Tool::Gdcm { .. })) {
            r.na = Some("gdcmanon not found on PATH (Debian: apt install libgdcm-tools)".into());
        }
    }

    eprintln!("[bench] {}: {n} files, {mb:.1} MB, {runs} runs", input.display());
    for run in 0..runs {
        // Alternate which tool goes first, run by run.
        let order: Vec<usize> = if run % 2 == 0 { vec![0, 1, 4, 2, 3] } else { vec![1, 0, 4, 3, 2] };
        for i in order {
            if rows[i].na.is_some() || rows[i].failure.is_some() {
                continue;
            }
            let tool = rows[i].tool;
            // Flush earlier runs' dirty pages (untimed) so their writeback
            // does not land inside this run, then warm the input.
            settle();
            warm_up(&files);
            let out = corpus_work.join(format!("out_{i}_{run}"));
            let res = run_once(tool, bin, policy, &input, halves.as_ref(), &out, n);
            let _ = fs::remove_dir_all(&out);
            match res {
                Ok(d) => {
                    eprintln!(
                        "[bench]   run {}/{runs} {} x{}: {:.3} s",
                        run + 1,
                        tool_name(tool),
                        threads(tool),
                        d.as_secs_f64()
                    );
                    rows[i].times.push(d);
                }
                Err(e) => {
                    eprintln!("[bench]   run {}/{runs} {} x{}: FAILED: {e}", run + 1, tool_name(tool), threads(tool));
                    rows[i].failure = Some(format!("run {}: {e}", run + 1));
                }
            }
        }
    }
    if let Some(h) = &halves {
        for d in h {
            let _ = fs::remove_dir_all(d);
        }
    }
    let _ = fs::remove_dir_all(&corpus_work);

    let fps = |r: &Row| r.median().map(|m| n as f64 / m);
    let gd1 = fps(&rows[1]);
    let gd2 = fps(&rows[3]);

    println!();
    println!("### Corpus `{}` ({n} files, {mb:.1} MB)", shown.display());
    if withheld > 0 {
        println!();
        println!("{withheld} of its {} files are left out of both tools' runs: dicom-deid withholds them under the header-only policy (they declare Burned In Annotation YES and pixels are off).", all_files.len());
    }
    println!();
    println!("| tool | threads | files | MB | median wall s | files/s | MB/s | files/s ratio vs gdcmanon | runs (s) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in &rows {
        let name = tool_name(r.tool);
        let th = match r.tool {
            Tool::Deid { jobs } => format!("{jobs}"),
            Tool::Gdcm { procs: 1 } => "1".into(),
            Tool::Gdcm { procs } => format!("{procs} procs"),
            Tool::Copy => "1".into(),
        };
        let runs_s = r.times.iter().map(|d| format!("{:.3}", d.as_secs_f64())).collect::<Vec<_>>().join(", ");
        if let Some(why) = &r.na {
            println!("| {name} | {th} | {n} | {mb:.1} | n/a | n/a | n/a | n/a | n/a: {why} |");
            continue;
        }
        if let Some(why) = &r.failure {
            println!("| {name} | {th} | {n} | {mb:.1} | FAILED | FAILED | FAILED | n/a | FAILED: {} |", why.replace('|', "/"));
            continue;
        }
        let m = r.median().unwrap();
        let ratio = match r.tool {
            Tool::Deid { jobs: 1 } => gd1.map(|g| format!("**{:.2}x** (vs 1 gdcmanon)", n as f64 / m / g)),
            Tool::Deid { .. } => gd2.map(|g| format!("{:.2}x (vs 2 gdcmanon procs)", n as f64 / m / g)),
            Tool::Gdcm { .. } => Some("1.00x".into()),
            Tool::Copy => gd1.map(|g| format!("{:.2}x (vs 1 gdcmanon)", n as f64 / m / g)),
        }
        .unwrap_or_else(|| "n/a".into());
        println!(
            "| {name} | {th} | {n} | {mb:.1} | {m:.3} | {:.1} | {:.1} | {ratio} | {runs_s} |",
            n as f64 / m,
            mb / m
        );
    }
    match (fps(&rows[0]), gd1) {
        (Some(d), Some(g)) => println!(
            "\nSingle-threaded ratio (dicom-deid --jobs 1 files/s / gdcmanon --dumb files/s): **{:.2}x** (goal >= 1.5x: {}).",
            d / g,
            if d / g >= 1.5 { "met" } else { "NOT met" }
        ),
        _ => println!("\nSingle-threaded ratio: n/a (a row failed or was not run)."),
    }
    if let (Some(c), Some(g)) = (fps(&rows[4]), gd1) {
        println!("Copying the files and nothing else (`cp -r`) reaches {:.2}x of gdcmanon's files/s in the same run.", c / g);
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    let bin = release_binary();
    if !bin.is_file() {
        eprintln!(
            "error: {} not found.\nRun `cargo build --release` first: this benchmark times the release binary as a child process.",
            bin.display()
        );
        return ExitCode::from(1);
    }
    let work = env::temp_dir().join(format!("dicom-deid-bench-{}", std::process::id()));
    if let Err(e) = fs::create_dir_all(&work) {
        eprintln!("error: cannot create {}: {e}", work.display());
        return ExitCode::from(1);
    }
    let policy = match header_only_policy(&work) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };

    let mut repro = String::from("cargo build --release && cargo bench --bench header_throughput --");
    for c in &args.corpora {
        repro.push_str(" --corpus ");
        repro.push_str(&shell_quote(&c.display().to_string()));
    }
    repro.push_str(&format!(" --runs {}", args.runs));
    let gdcm_cmd = format!("gdcmanon --dumb --continue -r -i IN -o OUT {}", GDCM_EDITS.join(" "));
    let bin_mtime = fs::metadata(&bin)
        .and_then(|m| m.modified())
        .map(fmt_utc)
        .unwrap_or_else(|_| "unknown".into());
    let git = first_line(Command::new("git").arg("-C").arg(manifest_dir()).args(["describe", "--always", "--dirty"]));

    println!("## dicom-deid header-only throughput");
    println!();
    println!("- command: `{repro}`");
    println!("- date: {}", utc_now());
    println!(
        "- machine: nproc {}, CPU {}; load average at start: {}",
        nproc(),
        cpu_model(),
        fs::read_to_string("/proc/loadavg").map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_else(|_| "unknown".into())
    );
    println!(
        "- dicom-deid: `{}` ({}, git {git}, built {bin_mtime}); run as `dicom-deid IN --out OUT --jobs N --config POLICY --quiet` with POLICY `{HEADER_ONLY_POLICY}`",
        bin.display(),
        first_line(Command::new(&bin).arg("--version"))
    );
    println!("- gdcmanon: `{}`; run as `{gdcm_cmd}`", first_line(Command::new("gdcmanon").arg("--version")));
    println!(
        "- each figure: median wall time of {} run(s), each into a fresh output folder (deleted afterwards) after an untimed `sync` and a warm-up read of the input; tools alternate run by run; MB = 10^6 bytes of input",
        args.runs
    );

    let mut ok = true;
    for (idx, c) in args.corpora.iter().enumerate() {
        if let Err(e) = bench_corpus(idx, c, args.runs, &bin, &policy, &work) {
            eprintln!("error: {e}");
            println!("\n### Corpus `{}`: FAILED ({e})", c.display());
            ok = false;
        }
    }
    let _ = fs::remove_dir_all(&work);
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
