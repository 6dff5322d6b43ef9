//! The shipped harm index (Cambridge Crime Harm Index 2020): every offence a preset or NIBRS can
//! name is weighed, each weight is the official sheet's, the police-discovered offences are left
//! out by default, docs/HARM.md lists every row, and the table is in force until a department
//! chooses.

use bodega::classify::SHIPPED;
use bodega::harm::{shipped_table, shipped_weights, DEFAULT_TABLE, WITH_DISCOVERED_TABLE};
use bodega::testing::fresh_store;

use super::shared;

/// The NIBRS offence codes, from the proposed mapping beside the official sheet (its `39A-39D`
/// row stands for four codes), lower case.
fn nibrs_codes() -> Vec<String> {
    let text = std::fs::read_to_string(shared("harm/nibrs_mapping_cchi2020.csv")).expect("NIBRS mapping");
    let mut codes: Vec<String> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("row")[0].split_whitespace().next().expect("code").to_lowercase())
        .flat_map(
            |c| if c == "39a-39d" { vec!["39a".into(), "39b".into(), "39c".into(), "39d".into()] } else { vec![c] },
        )
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[tokio::test]
async fn every_preset_offence_and_nibrs_code_is_weighed_by_the_default_table() {
    let store = fresh_store().await;
    let table = store.bodega.active_harm_table().await.expect("table");
    assert_eq!(table.version(), "cchi@2020", "the shipped index is in force until the department chooses");
    assert!(!store.bodega.harm_table_chosen().await.expect("chosen"), "and the checklist still asks");
    let mut wanted: Vec<String> = SHIPPED.iter().map(|c| c.text.to_string()).collect();
    wanted.extend(SHIPPED.iter().filter(|c| !c.nibrs_code.is_empty()).map(|c| c.nibrs_code.to_lowercase()));
    let codes = nibrs_codes();
    assert!(codes.len() >= 60, "the NIBRS list: {} codes", codes.len());
    wanted.extend(codes);
    let unmapped: Vec<&String> = wanted.iter().filter(|o| table.weigh(o).is_none()).collect();
    assert!(unmapped.is_empty(), "offences with no weight in cchi@2020: {unmapped:?}");
    // An offence the table does not know is not weighed (the ingest lists it by name).
    assert_eq!(table.weigh("jaywalking"), None);
}

#[test]
fn every_weight_is_the_official_sheets_row_or_a_named_judgement() {
    let text = std::fs::read_to_string(shared("harm/cchi_2020_full.csv")).expect("official sheet");
    let records: Vec<(String, f64)> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| {
            let r = r.expect("row");
            (r[0].to_string(), r[1].parse::<f64>().expect("weight"))
        })
        .collect();
    assert_eq!(records.len(), 698, "the 2020 values sheet has 698 offences");
    let sheet: std::collections::HashMap<String, f64> = records.into_iter().collect();
    let rows = shipped_weights();
    assert!(rows.len() >= 110, "{} rows", rows.len());
    for w in &rows {
        assert_eq!(w.offence, w.offence.trim().to_lowercase(), "keys are lower case: {}", w.offence);
        if w.cchi_offence.is_empty() {
            assert!(!w.judgement.is_empty(), "'{}' has no CCHI row and must say why", w.offence);
        } else {
            let official = sheet
                .get(&w.cchi_offence)
                .unwrap_or_else(|| panic!("'{}' cites no row of the sheet: {}", w.offence, w.cchi_offence));
            assert_eq!(
                w.weight.to_bits(),
                official.to_bits(),
                "'{}': {} days, the sheet says {official}",
                w.offence,
                w.weight
            );
        }
    }
    // Hand-checked anchors of the index (Sherman, Neyroud & Neyroud 2016; the 2020 sheet).
    let weight = |o: &str| rows.iter().find(|w| w.offence == o).map(|w| w.weight);
    assert_eq!(weight("homicide"), Some(5475.0), "murder: 15 years");
    assert_eq!(weight("robbery"), Some(365.0), "robbery: 1 year");
    assert_eq!(weight("13a"), Some(547.5), "aggravated assault: wounding/GBH, 18 months");
    assert_eq!(weight("theft from vehicle"), Some(2.0));
    assert_eq!(weight("mischief"), Some(1.0));
}

#[test]
fn police_discovered_offences_are_left_out_by_default_and_weighed_in_the_other_table() {
    let default: std::collections::HashMap<String, f64> =
        shipped_table(DEFAULT_TABLE.0).into_iter().map(|(o, w, _)| (o, w)).collect();
    let all: std::collections::HashMap<String, f64> =
        shipped_table(WITH_DISCOVERED_TABLE.0).into_iter().map(|(o, w, _)| (o, w)).collect();
    let discovered: Vec<String> = shipped_weights().into_iter().filter(|w| w.discovered()).map(|w| w.offence).collect();
    for o in ["narcotics", "weapons violation", "drug offense", "dangerous drugs", "dangerous weapons", "35a", "520"] {
        assert!(discovered.iter().any(|d| d == o), "{o} is police-discovered");
    }
    for o in &discovered {
        assert_eq!(default[o], 0.0, "{o} weighs 0 in cchi@2020");
        assert!(all[o] > 0.0, "{o} weighs its CCHI days in cchi-all@2020");
    }
    for (o, w) in &default {
        if !discovered.contains(o) {
            assert_eq!(all[o].to_bits(), w.to_bits(), "{o}: the two tables differ only on discovered offences");
        }
    }
    assert_eq!(default.len(), all.len());
}

#[test]
fn harm_md_lists_every_weight_with_its_cchi_row() {
    let doc = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/HARM.md"))
        .expect("docs/HARM.md");
    for w in shipped_weights() {
        let cited = if w.cchi_offence.is_empty() { "no CCHI row".to_string() } else { w.cchi_offence.clone() };
        let line = format!("| `{}` | {} | {} |", w.offence, w.weight, cited.replace('|', "\\|"));
        assert!(doc.contains(&line), "docs/HARM.md lacks the row: {line}");
    }
}

#[tokio::test]
async fn a_department_chooses_its_table_and_the_choice_sticks() {
    let store = fresh_store().await;
    let b = &store.bodega;
    let tables = b.harm_tables().await.expect("list");
    let names: Vec<String> = tables.iter().map(|t| format!("{}@{}", t.name, t.version)).collect();
    assert_eq!(names, ["cchi@2020", "cchi-all@2020"]);
    assert!(tables.iter().any(|t| t.active && t.name == "cchi"), "the default is marked in force");
    assert_eq!(b.activate_harm_table("count", "1").await.expect("count"), "cchi@2020");
    assert_eq!(b.active_harm_table().await.expect("table").version(), "count@1", "count stays chosen");
    assert!(b.harm_table_chosen().await.expect("chosen"));
    assert_eq!(b.activate_harm_table("cchi-all", "2020").await.expect("all"), "count@1");
    let all = b.active_harm_table().await.expect("table");
    assert_eq!((all.version(), all.weigh("Narcotics")), ("cchi-all@2020", Some(3.0)));
    // The shipped versions never change meaning.
    let other = vec![("robbery".to_string(), 1.0, String::new())];
    assert!(b.load_harm_table("cchi", "2020", &other).await.is_err(), "cchi@2020 is not overwritten");
}
