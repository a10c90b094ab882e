//! Word lists and the diacritic fold table the normaliser works from.
//!
//! Everything here is data, kept apart from the logic so that adding a legal
//! form or an abbreviation is a one-line change. All entries are lower-case
//! ASCII, i.e. already folded, because they are compared with folded tokens.

use std::collections::HashSet;
use std::sync::OnceLock;

/// Base letters for U+00C0..=U+00FF. `#` stands for "ae", `$` for "th",
/// `%` for "ss"; a space marks the two symbols (× and ÷) in the block.
const LATIN1: &[u8; 64] = b"aaaaaa#ceeeeiiiidnooooo ouuuuy$%aaaaaa#ceeeeiiiidnooooo ouuuuy$y";

/// Base letters for U+0100..=U+017F (Latin Extended-A), a group per letter.
/// `*` stands for "ij" and `#` for "oe".
const LATIN_EXT_A: &[u8] = concat!(
    "aaaaaa",       // Ā ā Ă ă Ą ą
    "cccccccc",     // Ć ć Ĉ ĉ Ċ ċ Č č
    "dddd",         // Ď ď Đ đ
    "eeeeeeeeee",   // Ē ē Ĕ ĕ Ė ė Ę ę Ě ě
    "gggggggg",     // Ĝ ĝ Ğ ğ Ġ ġ Ģ ģ
    "hhhh",         // Ĥ ĥ Ħ ħ
    "iiiiiiiiii",   // Ĩ ĩ Ī ī Ĭ ĭ Į į İ ı
    "**",           // Ĳ ĳ
    "jj",           // Ĵ ĵ
    "kkk",          // Ķ ķ ĸ
    "llllllllll",   // Ĺ ĺ Ļ ļ Ľ ľ Ŀ ŀ Ł ł
    "nnnnnnnnn",    // Ń ń Ņ ņ Ň ň ŉ Ŋ ŋ
    "oooooo",       // Ō ō Ŏ ŏ Ő ő
    "##",           // Œ œ
    "rrrrrr",       // Ŕ ŕ Ŗ ŗ Ř ř
    "ssssssss",     // Ś ś Ŝ ŝ Ş ş Š š
    "tttttt",       // Ţ ţ Ť ť Ŧ ŧ
    "uuuuuuuuuuuu", // Ũ ũ Ū ū Ŭ ŭ Ů ů Ű ű Ų ų
    "ww",           // Ŵ ŵ
    "yyy",          // Ŷ ŷ Ÿ
    "zzzzzz",       // Ź ź Ż ż Ž ž
    "s",            // ſ
)
.as_bytes();

/// Folds one character to lower-case ASCII where the table knows it, pushing
/// the result onto `out`. `german` spells ä/ö/ü as "ae"/"oe"/"ue", the way
/// German names are written without umlauts ("Baecker" for "Bäcker").
/// Characters outside the table are lower-cased as they are, so names in other
/// scripts still compare with themselves.
pub(crate) fn fold_char(c: char, german: bool, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let cp = c as u32;
    if german && matches!(c, 'ä' | 'Ä' | 'ö' | 'Ö' | 'ü' | 'Ü') {
        out.push(match c {
            'ä' | 'Ä' => 'a',
            'ö' | 'Ö' => 'o',
            _ => 'u',
        });
        out.push('e');
        return;
    }
    let code = match cp {
        0xC0..=0xFF => LATIN1[(cp - 0xC0) as usize],
        0x100..=0x17F => LATIN_EXT_A.get((cp - 0x100) as usize).copied().unwrap_or(0),
        _ => 0,
    };
    match code {
        0 => out.extend(c.to_lowercase()),
        b'#' if cp < 0x100 => out.push_str("ae"),
        b'#' => out.push_str("oe"),
        b'$' => out.push_str("th"),
        b'%' => out.push_str("ss"),
        b'*' => out.push_str("ij"),
        b' ' => out.push(' '),
        b => out.push(b as char),
    }
}

/// Whether folding `c` differs between the plain and the German spelling.
pub(crate) fn has_umlaut(c: char) -> bool {
    matches!(c, 'ä' | 'Ä' | 'ö' | 'Ö' | 'ü' | 'Ü')
}

/// Words that open a site name only to sort or flag it: "ZZ-", "OLD-",
/// "Client - ", "[MSP]". They are dropped when a separator follows them.
pub(crate) const JUNK_PREFIXES: &[&str] = &[
    "zz",
    "zzz",
    "zzzz",
    "xx",
    "xxx",
    "old",
    "client",
    "clients",
    "customer",
    "managed",
    "unmanaged",
    "msp",
    "inactive",
    "archived",
    "archive",
    "former",
    "closed",
    "legacy",
    "dnu",
    "tmp",
    "temp",
    "migrated",
    "offboarded",
    "cust",
    "acct",
];

/// Prefixes so odd that they are dropped even when only a space follows.
pub(crate) const JUNK_PREFIXES_BARE: &[&str] = &["zz", "zzz", "zzzz", "xx", "xxx"];

/// Location words that trail a name without a separator ("Acme Dental HQ").
/// Only these unambiguous ones: "Main" or "North" could be part of a name.
pub(crate) const TRAILING_LOCATION: &[&str] = &["downtown", "hq", "headquarters"];

/// Status words that may trail a name without a separator ("Acme OLD").
pub(crate) const TRAILING_STATUS: &[&str] = &[
    "old",
    "legacy",
    "inactive",
    "archived",
    "migrated",
    "offboarded",
    "decommissioned",
    "unmanaged",
];

/// Words that, followed by a number, tag a location ("Acme Branch 2").
pub(crate) const NUMBERED_LOCATION: &[&str] = &[
    "branch", "office", "site", "location", "store", "unit", "campus", "suite", "ste", "building", "bldg",
];

/// Two-word location tags that may trail a name without a separator.
pub(crate) const TRAILING_LOCATION_PAIRS: &[[&str; 2]] = &[
    ["main", "office"],
    ["head", "office"],
    ["branch", "office"],
    ["corporate", "office"],
    ["satellite", "office"],
];

/// Legal forms removed wherever they stand: nobody names a firm with them, and
/// a reordered name ("Fairview LLC Mathis Mortgage") can carry them mid-name.
pub(crate) const LEGAL_ANYWHERE: &[&str] = &[
    "inc",
    "incorporated",
    "llc",
    "lllc",
    "ltd",
    "ltda",
    "corp",
    "pllc",
    "llp",
    "lllp",
    "gmbh",
    "plc",
    "pty",
    "sarl",
    "srl",
    "sprl",
    "bvba",
    "mbh",
];

/// Legal forms removed only at the end of a name, because the same letters are
/// also ordinary words or place codes elsewhere ("AS", "SA", "Co", "PA").
pub(crate) const LEGAL_END: &[&str] = &[
    "co",
    "cos",
    "company",
    "companies",
    "corporation",
    "limited",
    "pc",
    "pa",
    "sa",
    "sas",
    "sasu",
    "ab",
    "as",
    "asa",
    "ag",
    "kg",
    "kgaa",
    "ohg",
    "ug",
    "ev",
    "eg",
    "se",
    "bv",
    "nv",
    "oy",
    "oyj",
    "kk",
    "aps",
    "lp",
    "cpa",
    "cpas",
    "psc",
    "pte",
    "bhd",
    "lda",
    "sl",
    "slu",
    "sau",
    "spa",
    "sro",
    "doo",
    "zrt",
    "kft",
    "gbr",
    "chartered",
    "aktiengesellschaft",
    "aksjeselskap",
    "aktiebolag",
    "anpartsselskab",
    "osakeyhtio",
];

/// Multi-word legal forms, removed as a whole at the end of a name.
pub(crate) const LEGAL_PHRASES: &[&[&str]] = &[
    &["limited", "liability", "company"],
    &["limited", "liability", "partnership"],
    &["limited", "liability", "limited", "partnership"],
    &["limited", "partnership"],
    &["professional", "limited", "liability", "company"],
    &["professional", "corporation"],
    &["professional", "association"],
    &["professional", "limited", "company"],
    &["public", "limited", "company"],
    &["pty", "ltd"],
    &["co", "ltd"],
    &["sa", "de", "cv"],
    &["s", "de", "rl"],
    &["s", "de", "rl", "de", "cv"],
    &["de", "cv"],
    &["sapi", "de", "cv"],
    &["sociedad", "anonima"],
    &["sociedad", "limitada"],
    &["societe", "anonyme"],
    &["societa", "per", "azioni"],
    &["societa", "a", "responsabilita", "limitata"],
    &["besloten", "vennootschap"],
    &["naamloze", "vennootschap"],
    &["kabushiki", "kaisha"],
    &["gesellschaft", "mit", "beschrankter", "haftung"],
    &["sdn", "bhd"],
    &["pvt", "ltd"],
    &["private", "limited"],
    &["and", "co"],
    &["and", "company"],
    &["and", "co", "kg"],
];

/// Glue words: kept in the normalised name for readability, but they carry
/// no weight and are left out of acronyms.
pub(crate) const STOPWORDS: &[&str] = &[
    "the", "of", "and", "for", "at", "de", "la", "le", "del", "du", "der", "a", "an", "in", "on",
];

/// Words that join two names: all become "and".
pub(crate) const CONNECTORS: &[&str] = &["and", "n", "y", "et", "und"];

/// Abbreviations and their canonical spelling. Both sides of a comparison go
/// through this table, so "Svcs" meets "Services" and "Mtn" meets "Mountain".
pub(crate) const ABBREVIATIONS: &[(&str, &[&str])] = &[
    ("assoc", &["associates"]),
    ("assocs", &["associates"]),
    ("assn", &["association"]),
    ("svc", &["services"]),
    ("svcs", &["services"]),
    ("srvcs", &["services"]),
    ("serv", &["services"]),
    ("mgmt", &["management"]),
    ("mgt", &["management"]),
    ("intl", &["international"]),
    ("dept", &["department"]),
    ("ctr", &["center"]),
    ("cntr", &["center"]),
    ("centre", &["center"]),
    ("med", &["medical"]),
    ("bros", &["brothers"]),
    ("mfg", &["manufacturing"]),
    ("chr", &["christian"]),
    ("cath", &["catholic"]),
    ("mtn", &["mountain"]),
    ("mt", &["mount"]),
    ("ft", &["fort"]),
    ("acctg", &["accounting"]),
    ("acct", &["accounting"]),
    ("hosp", &["hospital"]),
    ("univ", &["university"]),
    ("inst", &["institute"]),
    ("natl", &["national"]),
    ("sch", &["school"]),
    ("elem", &["elementary"]),
    ("dist", &["district"]),
    ("sd", &["school", "district"]),
    ("isd", &["independent", "school", "district"]),
    ("usd", &["unified", "school", "district"]),
    ("hs", &["high", "school"]),
    ("grp", &["group"]),
    ("ptnrs", &["partners"]),
    ("sys", &["systems"]),
    ("engr", &["engineering"]),
    ("eng", &["engineering"]),
    ("constr", &["construction"]),
    ("ins", &["insurance"]),
    ("pharm", &["pharmacy"]),
    ("twp", &["township"]),
    ("cty", &["county"]),
    ("govt", &["government"]),
    ("apts", &["apartments"]),
    ("bldg", &["building"]),
    ("saint", &["st"]),
    ("1st", &["first"]),
    ("2nd", &["second"]),
    ("3rd", &["third"]),
    ("labs", &["lab"]),
    ("laboratory", &["lab"]),
    ("laboratories", &["lab"]),
    ("vet", &["veterinary"]),
    ("atty", &["attorneys"]),
    ("attys", &["attorneys"]),
    ("attorney", &["attorneys"]),
    ("fdn", &["foundation"]),
    ("dentistry", &["dental"]),
    ("rec", &["recreation"]),
    ("chiro", &["chiropractic"]),
    ("acad", &["academy"]),
    ("hlth", &["health"]),
    ("org", &["organization"]),
    ("props", &["properties"]),
    ("rlty", &["realty"]),
    ("soc", &["society"]),
    ("sols", &["solutions"]),
    ("tech", &["technology"]),
    ("mktg", &["marketing"]),
    ("lib", &["library"]),
    ("transp", &["transportation"]),
    ("equip", &["equipment"]),
    ("eqpt", &["equipment"]),
    ("elec", &["electric"]),
    ("plbg", &["plumbing"]),
    ("htg", &["heating"]),
];

/// Long legal words that also count when misspelt or cut short at the end of
/// a name ("Incorporateed", "Corportion", "Title Comp"), with their short form.
pub(crate) const LEGAL_FUZZY: &[(&str, &str)] = &[
    ("company", "co"),
    ("corporation", "corp"),
    ("incorporated", "inc"),
    ("limited", "ltd"),
    ("gmbh", "gmbh"),
    ("corp", "corp"),
    ("pllc", "pllc"),
    ("ltda", "ltda"),
];

/// Words common in company names: their weight comes from how often they
/// occur in the tenant's company list, like every word's, but this list gives
/// them a high prior frequency so that they stay light even in a tenant with
/// only a handful of companies.
pub(crate) const GENERIC_WORDS: &[&str] = &[
    "group",
    "services",
    "service",
    "company",
    "associates",
    "association",
    "partners",
    "partner",
    "center",
    "clinic",
    "family",
    "community",
    "public",
    "school",
    "schools",
    "church",
    "dental",
    "medical",
    "health",
    "care",
    "law",
    "legal",
    "office",
    "offices",
    "firm",
    "solutions",
    "systems",
    "consulting",
    "international",
    "national",
    "management",
    "holdings",
    "enterprises",
    "industries",
    "county",
    "city",
    "town",
    "village",
    "department",
    "district",
    "st",
    "first",
    "united",
    "american",
    "home",
    "new",
    "global",
    "financial",
    "insurance",
    "agency",
    "specialists",
    "technology",
    "academy",
    "college",
    "practice",
    "catholic",
    "baptist",
    "methodist",
    "christian",
    "brothers",
    "sons",
    "independent",
    "unified",
    "high",
    "middle",
    "elementary",
];

/// Filler: words that describe a name without changing whom it names, so
/// sites often leave them out ("Moran Group" -> "Moran", "Tupelo Public Schools"
/// -> "Tupelo Schools"). They weigh half as much. Kinds of business ("Dental",
/// "Church", "Lab") are not filler: "Smith Dental" is not "Smith Dental Lab".
pub(crate) const FILLER_WORDS: &[&str] = &[
    "group",
    "services",
    "service",
    "company",
    "partners",
    "partner",
    "family",
    "community",
    "public",
    "firm",
    "specialists",
    "solutions",
    "holdings",
    "enterprises",
    "international",
    "national",
    "global",
    "united",
    "center",
    "clinic",
    "office",
    "offices",
    "care",
    "practice",
    "professionals",
];

/// Top-level domains recognised when a site is named after a domain.
pub(crate) const TLDS: &[&str] = &[
    "com", "org", "net", "edu", "gov", "io", "co", "us", "biz", "info", "lan", "local", "corp", "internal", "intra",
    "ca", "uk", "de", "fr", "es", "it", "nl", "be", "ch", "at", "au", "nz", "mx", "br", "se", "no", "dk", "fi", "ie",
    "pt", "pl", "eu", "app", "dev", "tech", "law", "legal", "health", "church", "school", "ad", "home",
];

pub(crate) fn contains(list: &[&str], word: &str) -> bool {
    list.contains(&word)
}

/// Whether a word is one business names are made of: a generic or filler
/// word, the spelled-out form of a known abbreviation, or a legal form.
/// Such a word after a name makes it another organisation ("Acme Realty"),
/// never a location tail.
pub(crate) fn is_business_word(word: &str) -> bool {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS
        .get_or_init(|| {
            GENERIC_WORDS
                .iter()
                .chain(FILLER_WORDS)
                .chain(LEGAL_END)
                .chain(LEGAL_ANYWHERE)
                .copied()
                .chain(ABBREVIATIONS.iter().flat_map(|(_, full)| full.iter().copied()))
                .collect()
        })
        .contains(word)
}

pub(crate) fn abbreviation(word: &str) -> Option<&'static [&'static str]> {
    ABBREVIATIONS.iter().find(|(a, _)| *a == word).map(|(_, full)| *full)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(s: &str, german: bool) -> String {
        let mut out = String::new();
        s.chars().for_each(|c| fold_char(c, german, &mut out));
        out
    }

    #[test]
    fn tables_have_the_size_of_their_blocks() {
        assert_eq!(LATIN1.len(), 0x100 - 0xC0);
        assert_eq!(LATIN_EXT_A.len(), 0x180 - 0x100);
    }

    #[test]
    fn folds_latin_1_and_extended_a() {
        assert_eq!(fold("Société Générale", false), "societe generale");
        assert_eq!(fold("Crème Brûlée Ñandú", false), "creme brulee nandu");
        assert_eq!(fold("Weiß Sæther Þór", false), "weiss saether thor");
        assert_eq!(fold("Łódź Dvořák Œuvre Ĳssel", false), "lodz dvorak oeuvre ijssel");
        assert_eq!(fold("Şişli Čapek Żółw", false), "sisli capek zolw");
        assert_eq!(fold("Bäckerei Köhler Müller", true), "baeckerei koehler mueller");
        assert_eq!(fold("Bäckerei Köhler Müller", false), "backerei kohler muller");
    }

    #[test]
    fn keeps_other_scripts_and_drops_nothing() {
        assert_eq!(fold("Ωmega 東京", false), "ωmega 東京");
    }
}
