//! One test per mechanism, on names made up for them (none from a labelled
//! set): how a site name is read, which tail is set aside, and how device
//! evidence and the PSA link combine with the name.

use super::*;

const COMPANIES: &[(&str, &str)] = &[
    ("b1", "Brennan Optical"),
    ("b2", "Brennan Optical Lab"),
    ("o1", "Oakhurst Pediatrics"),
    ("o2", "Oakhurst County Library"),
    ("z1", "Zephyr Fabrication, Inc."),
    ("q1", "Quillan Bay Trucking"),
    ("q2", "Quillan Property Advisors"),
    ("v1", "Varnell County Archives"),
    ("h1", "Harlow Holdings LLC dba Bright Smile Orthodontics"),
    ("w1", "Westfall Valley Associates, P.C."),
    ("m1", "The Moorland Gallery"),
    ("k1", "Kesler Optometry"),
    ("d1", "Dunmore & Pike"),
    ("d2", "Dunmore, Pike & Ashgrove"),
    ("t1", "Tillman Seed Company"),
    ("t2", "Tillman Marine Supply"),
    ("n1", "Northgate Dental"),
    ("n2", "Northgate Dental Care"),
    ("g1", "Glenrock Heating"),
    ("g2", "Greystoke Plumbing"),
];

fn index() -> CompanyIndex {
    CompanyIndex::new(COMPANIES.iter().copied())
}

#[track_caller]
fn maps(ix: &CompanyIndex, site: &str, id: &str) {
    let m = ix.best_match(site);
    assert!(
        m.as_ref().is_some_and(|m| m.company_id == id && m.auto_maps()),
        "{site:?} should auto-map to {id}, got {m:?}"
    );
}

#[track_caller]
fn suggests(ix: &CompanyIndex, site: &str, id: &str) {
    let m = ix.best_match(site);
    assert!(
        m.as_ref().is_some_and(|m| m.company_id == id && !m.auto_maps()),
        "{site:?} should suggest {id} without mapping, got {m:?}"
    );
}

#[track_caller]
fn stays_unmapped(ix: &CompanyIndex, site: &str) {
    let m = ix.best_match(site);
    assert!(
        !m.as_ref().is_some_and(MatchResult::auto_maps),
        "{site:?} should not auto-map, got {m:?}"
    );
}

#[test]
fn tails_after_any_separator_are_set_aside() {
    let ix = index();
    for site in [
        "Brennan Optical @ Fairhaven",
        "Brennan Optical :: Branch",
        "Brennan Optical #5",
        "Brennan Optical | Annex",
        "Brennan Optical / Bldg H",
        "Brennan Optical - Loc 2",
        "Brennan Optical (Legacy)",
        "Brennan Optical - Monitoring Only",
        "Brennan Optical ~ Yard",
        "Brennan Optical > 19",
    ] {
        maps(&ix, site, "b1");
    }
    // The sibling keeps its word after the same separators.
    maps(&ix, "Brennan Optical Lab @ Fairhaven", "b2");
    maps(&ix, "Brennan Optical Lab / Bldg H", "b2");
}

#[test]
fn department_and_device_group_tails() {
    let ix = index();
    for site in [
        "Zephyr Fabrication - Servers",
        "Zephyr Fabrication / VDI",
        "Zephyr Fabrication - Reception",
        "Zephyr Fabrication / Shop Floor",
    ] {
        maps(&ix, site, "z1");
    }
}

#[test]
fn a_separator_inside_the_name_is_not_a_tail() {
    // Cutting at the hyphen leaves "Brennan Optical", but the plain reading
    // explains "Lab" as well.
    let ix = index();
    maps(&ix, "BRENNAN OPTICAL -LAB - MAIN", "b2");
}

#[test]
fn a_place_appended_without_separator_is_a_tail() {
    let ix = index();
    // "Oakhurst" opens company names here: a place, not a line of business.
    maps(&ix, "Brennan Optical Oakhurst", "b1");
    maps(&ix, "Zephyr Fabrication Oakhurst", "z1");
    // A branch number too.
    maps(&ix, "Zephyr Fabrication 2", "z1");
    // A word of no company name, or one that ends company names, may be a
    // new line of business: never applied.
    stays_unmapped(&ix, "Zephyr Fabrication Imaging");
    stays_unmapped(&ix, "Zephyr Fabrication Supply");
    stays_unmapped(&ix, "Northgate Dental Lab");
}

#[test]
fn codes_and_ticket_numbers_in_front() {
    let ix = index();
    for site in [
        "12345 - Zephyr Fabrication",
        "[ZFI] Zephyr Fabrication",
        "ZEPH01 - Zephyr Fabrication",
        "(old) zeph01 Zephyr Fabrication",
        "#4411 Zephyr Fabrication",
        "T699706 ZEPHYR FABRICATION",
        "a - Zephyr Fabrication",
        "z-Zephyr Fabrication",
    ] {
        maps(&ix, site, "z1");
    }
    // A short code that is another company's initials does not make the
    // site that company's.
    for site in [
        "QBT - Corvane Logistics",
        "ZF01 - Corvane Logistics",
        "BO - Corvane Logistics",
    ] {
        stays_unmapped(&ix, site);
    }
}

#[test]
fn abbreviations_by_their_letters() {
    assert!(score::abbreviates("cnty", "county"));
    assert!(score::abbreviates("mgmt", "management"));
    assert!(score::abbreviates("prpty", "property"));
    assert!(score::abbreviates("mtge", "mortgage"));
    assert!(!score::abbreviates("median", "meridian"));
    assert!(!score::abbreviates("pete", "properties"));
    assert!(!score::abbreviates("xnty", "county"));
    let ix = index();
    maps(&ix, "Varnell Cnty Archives", "v1");
    maps(&ix, "Quillan Prpty Advisors", "q2");
    // A cut-off word anywhere in the name, not only at its end.
    maps(&ix, "Kesler Opto - Loc 3", "k1");
    maps(&ix, "Fabr. Zephyr", "z1");
}

#[test]
fn loose_letter_picks_rank_but_never_apply() {
    assert!(score::picks_letters("peron", "pemberton"));
    assert!(score::picks_letters("ibri", "ironbridge"));
    assert!(!score::picks_letters("median", "meridian"));
    assert!(!score::picks_letters("oron", "pemberton"));
    let ix = CompanyIndex::new([
        ("p", "Pemberton Florist"),
        ("l", "Lanternlight Florist"),
        ("a", "Ashgrove Florist"),
    ]);
    suggests(&ix, "Peron Florist", "p");
    suggests(&ix, "Lanlit Florist - Annex", "l");
    // Consonants after the start are a real abbreviation, and may apply.
    maps(&ix, "Lntlt Florist - Annex", "l");
}

#[test]
fn acronyms_with_a_tail_are_suggested() {
    let ix = index();
    suggests(&ix, "QBT - Loc 2", "q1");
    suggests(&ix, "WVA P.C.", "w1");
    suggests(&ix, "QBT (Legacy)", "q1");
}

#[test]
fn glued_and_squashed_names() {
    let ix = index();
    maps(&ix, "ZEPHYRFABRICATIONINC", "z1");
    maps(&ix, "QuillanBay Trucking", "q1");
    maps(&ix, "quillanbaytrucking - Annex", "q1");
    maps(&ix, "Quillan_Bay_Trucking", "q1");
    maps(&ix, "Oakhurst Countylibrary", "o2");
}

#[test]
fn several_typos_in_one_name() {
    let ix = index();
    maps(&ix, "Zephir Fabricatoin", "z1");
    maps(&ix, "Quilan Bay Truckign", "q1");
}

#[test]
fn trade_names_on_either_side() {
    let ix = index();
    assert_eq!(ix.len(), COMPANIES.len());
    maps(&ix, "Bright Smile Orthodontics", "h1");
    maps(&ix, "Bright Smile Orthodontics (Harlow Holdings)", "h1");
    maps(&ix, "Harlow Holdings", "h1");
    maps(&ix, "Harlow Holdings dba Bright Smile Orthodontics - Loc 2", "h1");
}

#[test]
fn tenant_domains() {
    let ix = index();
    maps(&ix, "zephyrfabrication.onmicrosoft.com", "z1");
    maps(&ix, "kesleroptometry.onmicrosoft.com", "k1");
}

#[test]
fn the_moved_to_the_end_and_words_dropped_from_the_middle() {
    let ix = index();
    maps(&ix, "Moorland Gallery, The", "m1");
    maps(&ix, "Oakhurst Library", "o2");
    // A partnership without a partner is another partnership.
    stays_unmapped(&ix, "Dunmore & Ashgrove");
    maps(&ix, "Dunmore, Pike & Ashgrove", "d2");
    maps(&ix, "Dunmore & Pike", "d1");
    // "and" joins a name to the list: no tail.
    stays_unmapped(&ix, "Dunmore & Pike & Oakhurst");
}

#[test]
fn explanations_name_the_words() {
    let ix = index();
    let m = ix.explain("ZEPH01 - Zephyr Fabrication @ Oakhurst");
    let e = m.as_ref().map(|m| &m.explanation);
    assert_eq!(m.as_ref().map(|m| m.company_id.as_str()), Some("z1"), "{m:?}");
    assert_eq!(e.map(|e| e.evidence.clone()), Some(Evidence::Name));
    assert_eq!(
        e.map(|e| e.matched_words.clone()),
        Some(vec!["zephyr".to_owned(), "fabrication".to_owned()])
    );
    assert_eq!(
        e.map(|e| e.set_aside.clone()),
        Some(vec!["zeph01".to_owned(), "oakhurst".to_owned()])
    );
    // Without devices or a PSA link, the same as best_match.
    for site in [
        "Northgate Dental",
        "Brennan Optical Oakhurst",
        "QBT - Loc 2",
        "Nothing Alike",
    ] {
        assert_eq!(ix.explain(site).map(|m| m.result()), ix.best_match(site), "{site}");
    }
}

fn overlap(company: &str, matching: u32, site: u32) -> DeviceOverlap {
    DeviceOverlap {
        company_id: company.to_owned(),
        matching_devices: matching,
        site_devices: site,
    }
}

#[test]
fn device_overlap_decides_between_similar_names() {
    let ix = index();
    // "Northgate" fits both companies about equally.
    stays_unmapped(&ix, "Northgate");
    let devices = [overlap("n2", 4, 5)];
    let evidence = SiteEvidence {
        psa_company_id: None,
        device_overlap: &devices,
    };
    let m = ix.match_site("Northgate", &evidence);
    assert!(
        m.as_ref().is_some_and(|m| m.company_id == "n2" && m.auto_maps()),
        "{m:?}"
    );
    assert_eq!(
        m.map(|m| m.explanation.evidence),
        Some(Evidence::DeviceOverlap {
            matching_devices: 4,
            site_devices: 5
        })
    );
    // Devices that agree with a clear name leave it clear and say so.
    let agree = [overlap("g1", 3, 3)];
    let m = ix.match_site(
        "Glenrock Heating",
        &SiteEvidence {
            psa_company_id: None,
            device_overlap: &agree,
        },
    );
    assert!(
        m.as_ref().is_some_and(|m| m.company_id == "g1" && m.confidence >= 99),
        "{m:?}"
    );
    assert_eq!(
        m.and_then(|m| m.explanation.devices),
        Some(DeviceCounts {
            matching_devices: 3,
            site_devices: 3
        })
    );
}

#[test]
fn devices_of_another_company_stop_a_name_from_being_applied() {
    let ix = index();
    maps(&ix, "Glenrock Heating", "g1");
    let devices = [overlap("g2", 5, 6)];
    let m = ix.match_site(
        "Glenrock Heating",
        &SiteEvidence {
            psa_company_id: None,
            device_overlap: &devices,
        },
    );
    assert!(
        !m.as_ref().is_some_and(|m| m.company_id == "g1" && m.auto_maps()),
        "{m:?}"
    );
    // One device of many is weak evidence: a suggestion at most.
    let one = [overlap("g2", 1, 20)];
    let m = ix.match_site(
        "Corvane Logistics",
        &SiteEvidence {
            psa_company_id: None,
            device_overlap: &one,
        },
    );
    assert!(
        m.as_ref().is_some_and(|m| m.company_id == "g2" && !m.auto_maps()),
        "{m:?}"
    );
    // Devices split between companies count for each by its share.
    let split = [overlap("n1", 2, 4), overlap("n2", 2, 4)];
    let m = ix.match_site(
        "Northgate",
        &SiteEvidence {
            psa_company_id: None,
            device_overlap: &split,
        },
    );
    assert!(!m.is_some_and(|m| m.auto_maps()));
    // Companies the index does not know are ignored.
    let unknown = [overlap("nope", 5, 5)];
    let m = ix.match_site(
        "Glenrock Heating",
        &SiteEvidence {
            psa_company_id: None,
            device_overlap: &unknown,
        },
    );
    assert_eq!(m.map(|m| m.result()), ix.best_match("Glenrock Heating"));
}

#[test]
fn a_psa_link_is_certain() {
    let ix = index();
    let devices = [overlap("g1", 2, 2)];
    let m = ix.match_site(
        "Totally Unrelated Name",
        &SiteEvidence {
            psa_company_id: Some("t2"),
            device_overlap: &devices,
        },
    );
    assert_eq!(
        m.as_ref().map(|m| (m.company_id.as_str(), m.confidence)),
        Some(("t2", 100))
    );
    assert_eq!(m.map(|m| m.explanation.evidence), Some(Evidence::PsaId));
    // An id the index does not know is no evidence.
    let m = ix.match_site(
        "Tillman Seed",
        &SiteEvidence {
            psa_company_id: Some("missing"),
            device_overlap: &[],
        },
    );
    assert_eq!(m.map(|m| m.company_id), Some("t1".to_owned()));
}

#[test]
fn trade_names_split_on_their_markers() {
    assert_eq!(
        index::trade_names("Harlow Holdings LLC dba Bright Smile"),
        vec!["Harlow Holdings LLC ", " Bright Smile"]
    );
    assert_eq!(
        index::trade_names("A Co D/B/A B Co aka C"),
        vec!["A Co ", " B Co ", " C"]
    );
    assert_eq!(index::trade_names("Dbase Systems"), vec!["Dbase Systems"]);
    assert_eq!(index::trade_names(" dba "), vec![" dba "]);
}
