//! End-to-end tests of scan()/redact() on multilingual clinical text.

use super::*;
use std::sync::OnceLock;

fn det() -> &'static Detectors {
    static D: OnceLock<Detectors> = OnceLock::new();
    D.get_or_init(|| Detectors::new(&TextConfig::default()).expect("default config"))
}

fn found(text: &str, vocab: &Vocabulary) -> Vec<(String, PhiKind)> {
    scan(text, vocab, det(), false).iter().map(|f| (text[f.start..f.end].to_string(), f.kind)).collect()
}

/// Every expected piece is fully covered by some finding.
fn assert_covered(text: &str, vocab: &Vocabulary, pieces: &[&str]) {
    let fs = scan(text, vocab, det(), false);
    for p in pieces {
        let s = text.find(p).unwrap_or_else(|| panic!("test bug: {p} not in text"));
        let e = s + p.len();
        assert!(
            fs.iter().any(|f| f.start <= s && e <= f.end),
            "{p:?} not covered in {text:?}; findings: {:?}",
            fs.iter().map(|f| (&text[f.start..f.end], &f.rule)).collect::<Vec<_>>()
        );
    }
}

fn assert_untouched(text: &str, pieces: &[&str]) {
    let fs = scan(text, &Vocabulary::new(), det(), false);
    for p in pieces {
        let s = text.find(p).unwrap();
        let e = s + p.len();
        assert!(
            !fs.iter().any(|f| f.start < e && s < f.end),
            "{p:?} wrongly hit in {text:?}: {:?}",
            fs.iter().map(|f| (&text[f.start..f.end], &f.rule)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn clinical_text_survives() {
    for t in [
        "CT ABDOMEN W/O CONTRAST", "LIVER", "AX 5mm", "T1 SAG 3mm", "TC TORACE", "ASSIALE 5mm", "Stadiazione",
        "Staging", "RM ENCEFALO CON MDC", "Thorax a.p.", "IRM cérébrale", "Mammographie bilatérale",
        "t1_mprage_sag_p2_iso", "Head^Routine", "Chest PA and lateral", "follow-up in 6 months",
        "3 x 4 cm lesion", "120 kV 250 mAs", "slice 1.25 mm", "Medical history: none", "home medications",
        "Home medications: aspirin", "Patient stable, no change", "Paziente in buone condizioni",
        "Esame eseguito con mdc", "Vergleich zur Voraufnahme", "Examen réalisé sans injection",
        "Estudio sin contraste", "Ratio 1:2, DLP 450 mGy*cm", "Series 3 of 12",
        "Ecografia addome superiore. Fegato di normali dimensioni.", "Screening mammogram. BI-RADS 2. Recall in 12 months.",
        "PET/CT FDG 370 MBq, glicemia 98 mg/dl, peso 72 kg", "Historia clínica previa sin interés",
    ] {
        let fs = scan(t, &Vocabulary::new(), det(), false);
        assert!(fs.is_empty(), "{t:?}: {:?}", fs.iter().map(|f| (&t[f.start..f.end], &f.rule)).collect::<Vec<_>>());
        assert_eq!(redact(t, &fs, "[X]"), t.split_whitespace().collect::<Vec<_>>().join(" "));
    }
}

#[test]
fn italian_with_vocabulary() {
    let mut v = Vocabulary::new();
    v.add("FUMAGALLI^GIULIA", PhiKind::Name);
    v.add("19620703", PhiKind::Date);
    let t = "TC TORACE - Sig.ra Fumagalli Giulia nata 03/07/1962";
    assert_covered(t, &v, &["Fumagalli Giulia", "03/07/1962"]);
    assert_untouched(t, &["TC TORACE"]);
    let r = redact(t, &scan(t, &v, det(), false), "[X]");
    assert_eq!(r, "TC TORACE - Sig.ra [X] nata [X]");
}

#[test]
fn italian_without_vocabulary() {
    let t = "Paziente Giulia Fumagalli, nata il 3 luglio 1962, cartella clinica n. 12345678. Esame eseguito il \
             15/03/2024 presso Ospedale San Raffaele. Tel. 347 123 4567. Medico richiedente Dott. Marco Bellandi.";
    assert_covered(
        t,
        &Vocabulary::new(),
        &["Giulia Fumagalli", "3 luglio 1962", "12345678", "15/03/2024", "Ospedale San Raffaele", "347 123 4567", "Marco Bellandi"],
    );
    let r = redact(t, &scan(t, &Vocabulary::new(), det(), false), "[X]");
    for kept in ["Paziente", "nata il", "cartella clinica", "Esame eseguito", "presso", "Medico richiedente"] {
        assert!(r.contains(kept), "{kept} lost: {r}");
    }
}

#[test]
fn english_without_vocabulary() {
    let t = "Hx: surgery on 05 March 2020. Lives at 12 Larkspur Close, Harrogate HG2 7QT. Contact Charlotte \
             Pemberton on +44 1423 123456. NHS no. 943 476 5919.";
    assert_covered(
        t,
        &Vocabulary::new(),
        &["05 March 2020", "12 Larkspur Close", "Harrogate", "HG2 7QT", "Charlotte Pemberton", "+44 1423 123456", "943 476 5919"],
    );
    assert_untouched(t, &["surgery", "Lives at", "Hx"]);
    let fs = det().find_strict(t);
    assert!(fs.iter().any(|f| f.rule == "national_id:nhs_number"));
    assert!(fs.iter().all(|f| !f.rule.starts_with("prefix")), "strict must not run the name heuristics");
}

#[test]
fn italian_address_and_codice_fiscale() {
    let t = "Anamnesi: ... Residente in Via Giuseppe Garibaldi 12, 20121 Milano MI. Contattare Marco Scarpellini al \
             +39 02 1234567. Codice fiscale RSSMRA80A01H501U.";
    assert_covered(
        t,
        &Vocabulary::new(),
        &["Via Giuseppe Garibaldi 12", "20121 Milano MI", "Marco Scarpellini", "+39 02 1234567", "RSSMRA80A01H501U"],
    );
    let fs = scan(t, &Vocabulary::new(), det(), true);
    assert!(fs.iter().any(|f| f.rule == "national_id:codice_fiscale"));
    assert!(fs.iter().any(|f| f.kind == PhiKind::Address));
    assert_untouched(t, &["Anamnesi", "Residente in", "Codice fiscale"]);
}

#[test]
fn german_french_spanish() {
    let v = Vocabulary::new();
    let t = "Patientin Anna Müller, geb. 12.04.1961, Universitätsklinikum Hamburg-Eppendorf, Tel. 040 7410 0";
    assert_covered(t, &v, &["Anna Müller", "12.04.1961", "Universitätsklinikum Hamburg-Eppendorf", "040 7410 0"]);
    let t = "Überwiesen von Herr Dr. Klaus Becker, Hauptstraße 5, 10115 Berlin. Termin am 3. Februar 2023 um 14.30 Uhr.";
    assert_covered(t, &v, &["Klaus Becker", "Hauptstraße 5", "10115 Berlin", "3. Februar 2023", "14.30 Uhr"]);
    let t = "Mme Dupont née le 3 mars 1950, Hôpital Pitié-Salpêtrière, 75013 Paris";
    assert_covered(t, &v, &["Dupont", "3 mars 1950", "Hôpital Pitié-Salpêtrière", "75013 Paris"]);
    let t = "Adressé par le Dr Jean-Pierre Lefèvre, 3 rue de la Paix, tél. 01 42 68 53 00, CHU de Bordeaux.";
    assert_covered(t, &v, &["Jean-Pierre Lefèvre", "3 rue de la Paix", "01 42 68 53 00", "CHU de Bordeaux"]);
    let t = "Paciente Juan García, nacido el 5 de mayo de 1970, DNI 12345678Z";
    assert_covered(t, &v, &["Juan García", "5 de mayo de 1970", "12345678Z"]);
    let t = "Remitido por la Dra. Carmen López Ruiz desde Clínica San Rafael, Calle Mayor 10, 28013 Madrid. Tel: 91 123 45 67";
    assert_covered(t, &v, &["Carmen López Ruiz", "Clínica San Rafael", "Calle Mayor 10", "28013 Madrid", "91 123 45 67"]);
}

#[test]
fn institutions() {
    let v = Vocabulary::new();
    for (t, inst) in [
        ("seen at Harrogate District Hospital today", "Harrogate District Hospital"),
        ("transferred from St Bartholomew's Hospital", "St Bartholomew's Hospital"),
        ("ricoverata al Policlinico Sant'Orsola-Malpighi", "Policlinico Sant'Orsola-Malpighi"),
        ("presso Ospedale San Raffaele.", "Ospedale San Raffaele"),
        ("OSPEDALE NIGUARDA CA GRANDA", "OSPEDALE NIGUARDA CA GRANDA"),
        ("Kreiskrankenhaus Mechernich", "Kreiskrankenhaus Mechernich"),
        ("Royal Victoria Infirmary, Newcastle upon Tyne NE1 4LP", "Newcastle upon Tyne NE1 4LP"),
        ("Goethestraße 12, 60313 Frankfurt am Main", "Goethestraße 12, 60313 Frankfurt am Main"),
        ("Avda. de la Constitución 25, 41001 Sevilla", "Avda. de la Constitución 25"),
    ] {
        assert_covered(t, &v, &[inst]);
    }
    let cfg = TextConfig { institution_words: vec!["Fondazione".into()], keep_words: vec!["Radiology".into()], ..Default::default() };
    let d = Detectors::new(&cfg).unwrap();
    let t = "Fondazione Poliambulanza";
    assert!(!d.find(t).is_empty());
}

#[test]
fn names_from_prefixes_and_expansion() {
    let mut v = Vocabulary::new();
    v.add("PEMBERTON^EDWARD", PhiKind::Name);
    // Only "Pemberton" from the vocabulary; "Charlotte" comes from expansion.
    let t = "Please ring Charlotte Pemberton tomorrow";
    assert_covered(t, &v, &["Charlotte Pemberton"]);
    assert_untouched("Please ring Charlotte tomorrow", &["Charlotte"]);
    // Colon prefixes accept ALL-CAPS names; bare prefixes only Title-case.
    assert_covered("REFERRED FOR: JOHN SMITH", &Vocabulary::new(), &["JOHN SMITH"]);
    assert_untouched("PATIENT ROSSI MARIO", &["ROSSI"]);
    assert_covered("Report signed by Dr. J. Watson", &Vocabulary::new(), &["J. Watson"]);
    assert_covered("Patient: Mario De Luca", &Vocabulary::new(), &["Mario De Luca"]);
    assert_covered("Referring: WILLIAMS, ROBERT J MD", &Vocabulary::new(), &["WILLIAMS, ROBERT"]);
    assert_covered("Frau Dr. med. Sabine Schulz, Praxis", &Vocabulary::new(), &["Sabine Schulz"]);
    assert_covered("Paciente: María José Fernández Gómez.", &Vocabulary::new(), &["María José Fernández Gómez"]);
    assert_untouched("Referred by: Sports Medicine Clinic", &["Sports"]);
    let cfg = TextConfig { keep_words: vec!["Aspirin".into()], name_prefixes: vec!["Betreuer".into()], ..Default::default() };
    let d = Detectors::new(&cfg).unwrap();
    let t = "Betreuer Hans Wurst";
    assert!(scan(t, &Vocabulary::new(), &d, false).iter().any(|f| f.kind == PhiKind::Name));
}

#[test]
fn redact_example() {
    let t = "Patient Edward Pemberton (MRN 12345678) seen at Harrogate District Hospital";
    let fs = scan(t, &Vocabulary::new(), det(), false);
    let r = redact(t, &fs, "[REDACTED]");
    for gone in ["Edward", "Pemberton", "12345678", "Harrogate", "District", "Hospital"] {
        assert!(!r.contains(gone), "{gone} remains in {r}");
    }
    for kept in ["Patient", "MRN", "seen at"] {
        assert!(r.contains(kept), "{kept} lost in {r}");
    }
}

#[test]
fn findings_are_sorted_merged_and_rules_have_no_phi() {
    let mut v = Vocabulary::new();
    v.add("Rossi^Mario", PhiKind::Name);
    v.add("12345678", PhiKind::Id);
    let t = "Dott. Mario Rossi, MRN 12345678, Tel 02 1234567, mario.rossi@example.it";
    let fs = scan(t, &v, det(), false);
    for w in fs.windows(2) {
        assert!(w[0].end <= w[1].start, "overlap: {fs:?}");
    }
    for f in &fs {
        for secret in ["mario", "rossi", "12345678", "1234567"] {
            assert!(!f.rule.to_lowercase().contains(secret), "PHI in rule {}", f.rule);
        }
        assert!(t.is_char_boundary(f.start) && t.is_char_boundary(f.end));
    }
    assert!(found(t, &v).iter().any(|(s, k)| s == "mario.rossi@example.it" && *k == PhiKind::Email));
}

#[test]
fn no_panics_on_any_substring() {
    let mut v = Vocabulary::new();
    v.add("Müller^Jürgen", PhiKind::Name);
    v.add("20240315", PhiKind::Date);
    let samples = [
        "",
        "Herr Müller, geb. 15.03.2024 — Tel. +49 30 1234567 • Straße 5",
        "Sig.ra Nicolò D'Angelo, née 1er mars 2024 à 14h30 — 山田太郎 😀 café",
        "Dr.Ş ß ẞ ǅ 1.2.840.10008 RSSMRA80A01H501U 943 476 5919 ",
        "\u{0301}e\u{0301} 12/31/2024 Via Roma 1, 00100 Roma RM (RM)",
    ];
    for s in samples {
        let bounds: Vec<usize> = (0..=s.len()).filter(|&i| s.is_char_boundary(i)).collect();
        for &a in &bounds {
            for &b in bounds.iter().filter(|&&b| b >= a) {
                let sub = &s[a..b];
                let fs = scan(sub, &v, det(), false);
                for f in &fs {
                    assert!(f.start < f.end && f.end <= sub.len() && sub.is_char_boundary(f.start) && sub.is_char_boundary(f.end));
                }
                let _ = redact(sub, &fs, "[X]");
                let _ = det().find_strict(sub);
            }
        }
    }
}

#[test]
fn ten_thousand_strings_scan() {
    // Not timed; guards against pathological behaviour (runs in a few seconds at most).
    let mut v = Vocabulary::new();
    for i in 0..100 {
        v.add(&format!("Surname{i}^Given{i}"), PhiKind::Name);
        v.add(&format!("ID{:08}", i * 7919), PhiKind::Id);
    }
    v.add("19620703", PhiKind::Date);
    let templates = [
        "CT ABDOMEN W/O CONTRAST {i}",
        "Paziente Surname{i} Given{i}, nata il 3 luglio 1962, cartella n. {i}",
        "Hx: surgery on 05 March 2020. Lives at {i} Larkspur Close, Harrogate HG2 7QT.",
        "Patientin Anna Müller, geb. 12.04.1961, Tel. 040 7410 {i}",
        "Mme Dupont née le 3 mars 1950, Hôpital Pitié-Salpêtrière, 750{i} Paris",
        "t1_mprage_sag_p2_iso series {i}",
    ];
    let long = "Lorem ipsum dolor sit amet, Ospedale San Raffaele, 15/03/2024. ".repeat(150);
    let mut total = 0;
    for i in 0..10_000 {
        let t = templates[i % templates.len()].replace("{i}", &i.to_string());
        total += scan(&t, &v, det(), false).len();
        if i % 1000 == 0 {
            total += scan(&long, &v, det(), false).len();
        }
    }
    assert!(total > 10_000);
}

#[test]
fn config_round_trip() {
    let json = r#"{"languages":["it","en"],"keep_words":["Rossi"],"disabled_rules":["id:digits"],
        "patterns":[{"name":"acc","regex":"ACC\\d+","kind":"id"}]}"#;
    let cfg: TextConfig = serde_json::from_str(json).unwrap();
    assert_eq!(cfg.patterns[0].kind, PhiKind::Id);
    assert!(serde_json::from_str::<TextConfig>(r#"{"bogus":1}"#).is_err());
    let d = Detectors::new(&cfg).unwrap();
    assert!(d.find("Paziente Rossi").iter().all(|f| f.kind != PhiKind::Name));
    assert!(d.find("ACC123").iter().any(|f| f.rule == "custom:acc"));
}

#[test]
fn birthplaces_are_found() {
    let det = Detectors::new(&TextConfig::default()).unwrap();
    for (text, place) in [
        ("Geb. in Kötzschenbroda. Tel. 0351 4471 220", "Kötzschenbroda"),
        ("born in Harrogate, 1961", "Harrogate"),
        ("nata a Forlì il 3 luglio 1962", "Forlì"),
        ("née à Saint-Étienne en 1950", "Saint-Étienne"),
        ("nacido en Cádiz", "Cádiz"),
        ("Place of birth: Leeds", "Leeds"),
    ] {
        let f = scan(text, &Vocabulary::new(), &det, false);
        assert!(f.iter().any(|f| &text[f.start..f.end] == place || text[f.start..f.end].contains(place)), "{text}: {f:?}");
    }
    let f = scan("born in the early morning", &Vocabulary::new(), &det, false);
    assert!(f.is_empty(), "{f:?}");
}
