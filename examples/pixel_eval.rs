//! Evaluate the pixel cleaner on a corpus from ../shared/eval/make_corpus.py:
//!
//!     bash tools/fetch-model.sh
//!     cargo run --release --features pixels --example pixel_eval -- /tmp/corpus/input OUT_DIR
//!
//! For every file: decode (or the reason it cannot), and for files with burned-in text in
//! their key (`IN_DIR/../keys/<name>.json`, "burned_in") run `pixels::clean`, write
//! before/after PNGs of the first and last frame with the masked boxes drawn in red, write
//! the cleaned DICOM (Explicit VR Little Endian) to OUT_DIR/dcm, re-read it, and check each
//! key box: "covered" (every pixel of the key box inside a masked box, every frame) and
//! "masked" as score.py counts it (at most 5% of the text pixels keep the burn value).
//! Options: `--all` cleans every decodable file (not only the keyed ones); `--model PATH`;
//! `--dump-boxes` prints frame 0's boxes as `BOX NAME x0 y0 x1 y1 score`; `--plain` draws no
//! boxes on the before images;
//! environment DET_MIN_SIDE, DET_MAX_SIDE, DET_MAX_UPSCALE override the detector input size limits,
//! DET_THRESH and DET_BOX_THRESH its post-processing thresholds.
//! Without the feature this example only prints how to run it (so default builds pass).

#[cfg(not(feature = "pixels"))]
fn main() {
    eprintln!("pixel_eval needs the pixels feature: cargo run --release --features pixels --example pixel_eval -- IN OUT");
    std::process::exit(2);
}

#[cfg(feature = "pixels")]
fn main() {
    if let Err(e) = eval::run() {
        eprintln!("pixel_eval: {e}");
        std::process::exit(1);
    }
}

#[cfg(feature = "pixels")]
mod eval {
    use dicom_deid::detect::{DetectOptions, Detector};
    use dicom_deid::pixels::{self, decode, to_display_u8, CleanOptions, MaskedBox};
    use dicom_encoding::TransferSyntaxIndex;
    use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    fn draw_png(path: &Path, img: &pixels::DisplayImage, boxes: &[&MaskedBox]) -> Result<(), String> {
        let (w, h) = (img.width, img.height);
        let mut rgb = image::RgbImage::from_raw(w, h, img.to_rgb()).ok_or("bad image")?;
        for b in boxes {
            let (x1, y1) = (b.x1.saturating_sub(1).min(w - 1), b.y1.saturating_sub(1).min(h - 1));
            for x in b.x0..=x1 {
                rgb.put_pixel(x, b.y0.min(h - 1), image::Rgb([255, 0, 0]));
                rgb.put_pixel(x, y1, image::Rgb([255, 0, 0]));
            }
            for y in b.y0..=y1 {
                rgb.put_pixel(b.x0.min(w - 1), y, image::Rgb([255, 0, 0]));
                rgb.put_pixel(x1, y, image::Rgb([255, 0, 0]));
            }
        }
        rgb.save(path).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn run() -> Result<(), String> {
        let mut args: Vec<String> = std::env::args().skip(1).collect();
        let all = args.iter().any(|a| a == "--all");
        let dump = args.iter().any(|a| a == "--dump-boxes");
        let plain = args.iter().any(|a| a == "--plain");
        args.retain(|a| a != "--all" && a != "--dump-boxes" && a != "--plain");
        let mut model = PathBuf::from("target/model/det.onnx");
        if let Some(i) = args.iter().position(|a| a == "--model") {
            model = PathBuf::from(args.get(i + 1).ok_or("--model PATH")?);
            args.drain(i..i + 2);
        }
        let [input, out] = <[String; 2]>::try_from(args).map_err(|_| "usage: pixel_eval IN_DIR OUT_DIR [--all] [--model det.onnx]")?;
        let (input, out) = (PathBuf::from(input), PathBuf::from(out));
        std::fs::create_dir_all(out.join("dcm")).map_err(|e| e.to_string())?;
        let t = Instant::now();
        let mut dopts = DetectOptions::default();
        let env_u32 = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u32>().ok());
        if let Some(v) = env_u32("DET_MIN_SIDE") {
            dopts.min_side = v;
        }
        if let Some(v) = env_u32("DET_MAX_SIDE") {
            dopts.max_side = v;
        }
        if let Some(v) = env_u32("DET_MAX_UPSCALE") {
            dopts.max_upscale = v as f32;
        }
        let env_f32 = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f32>().ok());
        if let Some(v) = env_f32("DET_THRESH") {
            dopts.post.thresh = v;
        }
        if let Some(v) = env_f32("DET_BOX_THRESH") {
            dopts.post.box_thresh = v;
        }
        let det = Detector::from_file(&model, dopts)?;
        eprintln!("model {} loaded in {:.2}s", model.display(), t.elapsed().as_secs_f64());
        let keys = input.canonicalize().ok().and_then(|p| p.parent().map(|p| p.join("keys"))).unwrap_or_default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&input).map_err(|e| e.to_string())?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        let (mut key_boxes, mut covered_n, mut masked_n, mut decoded, mut failed) = (0usize, 0usize, 0usize, 0usize, 0usize);
        let mut total_clean = 0f64;
        for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "dcm")) {
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            let key: Option<serde_json::Value> = std::fs::read_to_string(keys.join(format!("{name}.json"))).ok().and_then(|s| serde_json::from_str(&s).ok());
            let burn = key.as_ref().and_then(|k| k.get("burned_in")).filter(|b| !b.is_null()).cloned();
            let mut file = match dicom_object::open_file(path) {
                Ok(f) => f,
                Err(e) => {
                    println!("{name}: not read: {e}");
                    continue;
                }
            };
            let ts = file.meta().transfer_syntax().trim_end_matches('\0').to_string();
            if file.get(dicom_core::Tag(0x7FE0, 0x0010)).is_none() {
                continue;
            }
            let before = match decode(&file, &ts) {
                Ok(img) => {
                    decoded += 1;
                    img
                }
                Err(e) => {
                    failed += 1;
                    println!("{name}: fail closed: {e}");
                    continue;
                }
            };
            if burn.is_none() && !all {
                continue;
            }
            let t = Instant::now();
            let report = pixels::clean(&mut file, &ts, Some(&det), &CleanOptions::default()).map_err(|e| format!("{name}: {e}"))?;
            let secs = t.elapsed().as_secs_f64();
            total_clean += secs;
            // Write, re-read, decode: the file as the engine would write it.
            let written = TransferSyntaxRegistry.get(&report.transfer_syntax).ok_or_else(|| format!("{name}: transfer syntax {}", report.transfer_syntax))?;
            file.meta_mut().set_transfer_syntax(written);
            let out_dcm = out.join("dcm").join(format!("{name}.dcm"));
            file.write_to_file(&out_dcm).map_err(|e| format!("{name}: write: {e}"))?;
            let reread = dicom_object::open_file(&out_dcm).map_err(|e| format!("{name}: re-read: {e}"))?;
            let after = decode(&reread, &report.transfer_syntax).map_err(|e| format!("{name}: re-decode: {e}"))?;
            let nf = before.frames.len();
            if dump {
                for b in report.boxes.iter().filter(|b| b.frame == 0) {
                    println!("BOX {name} {} {} {} {} {:.3}", b.x0, b.y0, b.x1, b.y1, b.score);
                }
            }
            for (fi, tag) in [(0usize, "f0"), (nf - 1, "flast")].into_iter().filter(|(fi, tag)| *fi > 0 || *tag == "f0") {
                let boxes: Vec<&MaskedBox> = report.boxes.iter().filter(|b| b.frame as usize == fi).collect();
                let drawn = if plain { &[][..] } else { &boxes[..] };
                draw_png(&out.join(format!("{name}_{tag}_before.png")), &to_display_u8(&before.frames[fi], &before.info, None), drawn)?;
                draw_png(&out.join(format!("{name}_{tag}_after.png")), &to_display_u8(&after.frames[fi], &after.info, None), &boxes)?;
            }
            let mut line = format!(
                "{name}: {} frame(s), detector ran on {}, {} box(es), {:.2}s",
                report.frames,
                report.frames_detected,
                report.boxes.len(),
                secs
            );
            if let Some(burn) = burn {
                let bv = burn["burn_value"].as_i64().unwrap_or(255) as i32;
                let mut outside_changed = 0usize;
                let mut outside_total = 0usize;
                let (w, h) = (before.frames[0].width as usize, before.frames[0].height as usize);
                let mut in_key = vec![false; w * h];
                let mut results = Vec::new();
                for b in burn["boxes"].as_array().cloned().unwrap_or_default() {
                    key_boxes += 1;
                    let xy: Vec<usize> = b["xyxy"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
                    let (x0, y0, x1, y1) = (xy[0], xy[1], xy[2], xy[3]);
                    let mut covered = true;
                    let (mut text, mut left) = (0usize, 0usize);
                    for (fi, (fa, fb)) in before.frames.iter().zip(&after.frames).enumerate() {
                        let s = fa.samples as usize;
                        let fb_boxes: Vec<&MaskedBox> = report.boxes.iter().filter(|m| m.frame as usize == fi).collect();
                        for y in y0..y1 {
                            for x in x0..x1 {
                                in_key[y * w + x] = true;
                                if !fb_boxes.iter().any(|m| (m.x0 as usize) <= x && x < m.x1 as usize && (m.y0 as usize) <= y && y < m.y1 as usize) {
                                    covered = false;
                                }
                                let i = (y * w + x) * s;
                                if (0..s).all(|c| fa.value(i + c) == bv) {
                                    text += 1;
                                    if (0..s).all(|c| fb.value(i + c) == bv) {
                                        left += 1;
                                    }
                                }
                            }
                        }
                    }
                    let residual = if text > 0 { left as f64 / text as f64 } else { 0.0 };
                    let masked = residual <= 0.05;
                    covered_n += covered as usize;
                    masked_n += masked as usize;
                    results.push(format!("{}:{}{}", b["label"].as_str().unwrap_or("?"), if covered { "covered" } else { "NOT-covered" }, if masked { "" } else { "/NOT-masked" }));
                }
                for (fa, fb) in before.frames.iter().zip(&after.frames) {
                    let s = fa.samples as usize;
                    for (p, _) in in_key.iter().enumerate().take(w * h).filter(|(_, k)| !**k) {
                        {
                            outside_total += 1;
                            if !fa.data.same(&fb.data, p * s, p * s + s) {
                                outside_changed += 1;
                            }
                        }
                    }
                }
                line.push_str(&format!(
                    "; key boxes: {}; changed outside key boxes {:.3}%",
                    results.join(" "),
                    100.0 * outside_changed as f64 / outside_total.max(1) as f64
                ));
            }
            println!("{line}");
        }
        println!(
            "decoded {decoded}, failed closed {failed}; key boxes covered {covered_n}/{key_boxes}, masked (score.py rule) {masked_n}/{key_boxes}; clean() time {total_clean:.1}s"
        );
        Ok(())
    }
}
