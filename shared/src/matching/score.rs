//! How much a site name and one company name say the same thing, and how sure
//! the best of the companies is.
//!
//! Tokens are aligned one to one by similarity (equal, plural, a typo, a
//! cut-off word). Every token weighs its squared IDF, so a shared "Dental"
//! proves little and a shared "Hernandez" a lot. The score of a pair is the
//! weighted similarity of the aligned tokens, times a factor for each token
//! left over and one for word order. A site token left over is strong evidence
//! of a different organisation ("Smith Dental Lab" is not "Smith Dental"), so
//! one caps the score below the auto-map threshold however common the word. A
//! company token left over is weaker evidence, as people shorten names: it
//! costs by its weight ("Group" little, "Greenville" a lot), and less after
//! the site was visibly cut off mid-word.

use super::tables;
use super::vocab::Vocab;

/// Each site token the company does not explain multiplies the score by
/// `1 - SITE_EXTRA_PENALTY * share`, where the share is the token's weight
/// relative to a rare word, but at least `SITE_EXTRA_FLOOR`: "Acme Realty"
/// is not "Acme", however common "Realty" is. One extra word caps a pair
/// below [`AUTO_MAP_THRESHOLD`](super::AUTO_MAP_THRESHOLD).
const SITE_EXTRA_PENALTY: f32 = 0.4;
const SITE_EXTRA_FLOOR: f32 = 0.85;
/// Exponent on the similarity of the aligned tokens (1.0 when all are equal).
const QUALITY_EXP: f32 = 1.5;
/// Each company token the site does not mention multiplies the score by
/// `1 - COMPANY_EXTRA_PENALTY * share^COMPANY_EXTRA_EXP`, the share being its
/// weight relative to a rare word: leaving out "Group" costs a little, leaving
/// out "Lab", "Foundation" or "of Greenville" too much to auto-map.
const COMPANY_EXTRA_PENALTY: f32 = 0.6;
const COMPANY_EXTRA_EXP: f32 = 0.75;
/// Company tokens after a site's cut-off last word cost this share of the
/// usual penalty.
const TRUNCATED_TAIL: f32 = 0.3;
/// Score lost when the shared words come in the opposite order ("Burns &
/// Murray" for "Murray & Burns"): small, but it breaks such ties.
const ORDER_PENALTY: f32 = 0.1;
/// How sharply the confidence separates the best candidate from the others.
pub(crate) const SHARPNESS: f32 = 10.0;
/// What a word set aside after the name costs, by what the tenant's
/// company names say about it: a number ("Acme Dental 2") almost nothing, a
/// word that opens company names (a place: "Acme Dental Springfield") a
/// little, since another company might explain it; a word of no company name
/// a little (only after a separator, see [`set_aside_factor`]); a word
/// companies end their names with, or a business word, as much as a word
/// left over ("Acme Dental / Lab" is not surely "Acme Dental").
pub(crate) const TAIL_NUMBER: f32 = 0.99;
pub(crate) const TAIL_LEADING: f32 = 0.88;
pub(crate) const TAIL_UNKNOWN: f32 = 0.97;
pub(crate) const TAIL_BUSINESS: f32 = 0.85;
/// A tail set aside after a separator costs at most this factor in all.
pub(crate) const SET_ASIDE_FLOOR: f32 = 0.72;
/// Company words dropped from the middle of a name cost this share of the
/// usual penalty.
const MIDDLE_DROPPED: f32 = 0.5;
/// Similarity of a loose pick of letters, and the cap on a score that
/// rests on one.
const LOOSE_SIM: f32 = 0.6;
const LOOSE_CAP: f32 = 0.6;
/// Similarity of a plural/singular pair ("Office" / "Offices").
pub(crate) const PLURAL_SIM: f32 = 0.95;

/// A token of the site, resolved against the company vocabulary.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    /// Canonical text.
    pub text: String,
    /// As written (folded).
    pub raw: String,
    /// Last token, or written with a '.': may be cut short ("Mach", "Chr.").
    pub prefixable: bool,
    /// The vocabulary token it equals.
    pub id: Option<u32>,
    /// Weight: its own, its likely spelling's, or that of an unseen word.
    pub weight: f32,
    /// Other vocabulary tokens it may stand for (plural, typo), with similarity.
    pub fuzzy: Vec<(u32, f32)>,
    /// "and" joins it to the word before: part of a list of names, no tail.
    pub joined: bool,
    /// A word business names are made of ([`tables::is_business_word`]).
    pub business: bool,
    /// Vocabulary tokens whose letters it picks loosely, vowels included
    /// ([`picks_letters`]).
    pub loose: Vec<u32>,
}

/// Similarity of a misspelling at edit distance `dist` from a word, the
/// longer of the two having `len` characters: one slip in a long word is
/// nearly certain, in a short one it may as well be another word ("Hall" /
/// "Hill").
pub(crate) fn typo_sim(dist: usize, len: usize) -> f32 {
    let len = len as f32;
    match dist {
        0 => 1.0,
        1 if len >= 6.0 => 1.0 - 0.8 / len,
        1 if len >= 4.0 => 1.0 - 1.4 / len,
        2 if len >= 7.0 => 1.0 - 3.5 / len,
        _ => 0.0,
    }
}

/// Similarity of a word cut to `plen` characters with the word it starts.
/// `known`: the cut word is itself a word of some company name, so it may not
/// be cut at all ("Howe" is not "Howell").
pub(crate) fn prefix_sim(plen: usize, len: usize, known: bool) -> f32 {
    if plen == 0 || plen >= len {
        return 0.0;
    }
    let frac = plen as f32 / len as f32;
    match (known, plen) {
        (true, 1) => 0.0,
        (true, _) => 0.55 + 0.25 * frac,
        (false, 1) => 0.5,
        (false, 2) => 0.6 + 0.2 * frac,
        (false, _) => 0.75 + 0.25 * frac,
    }
}

/// Whether `short` abbreviates `long` the way people shorten words: the
/// start of the word, then only consonants, in order ("cnty" for "county",
/// "mgmt" for "management", "cadg" for "cardiology"). Vowels after the start
/// would let real words through ("median" is not "meridian").
pub(crate) fn abbreviates(short: &str, long: &str) -> bool {
    let common = short.bytes().zip(long.bytes()).take_while(|(a, b)| a == b).count();
    if common == 0 || !short.is_ascii() || !long.is_ascii() {
        return false;
    }
    let mut rest = &short[common..];
    // The word's own last letter may close it, vowel or not ("mtge").
    if rest.len() >= 2 && rest.as_bytes().last() == long.as_bytes().last() {
        rest = &rest[..rest.len() - 1];
    }
    if rest.bytes().any(|c| matches!(c, b'a' | b'e' | b'i' | b'o' | b'u')) {
        return false;
    }
    let mut tail = long[common..].chars();
    rest.chars().all(|c| tail.any(|l| l == c))
}

/// Whether `short` is a loose pick of the letters of `long`: the same first
/// letter, the rest in order, at most half as long plus one ("peron" for
/// "pemberton", "ibri" for "ironbridge"). Real words pass this too, so a
/// name matched through such a pick is capped below the auto-map threshold.
pub(crate) fn picks_letters(short: &str, long: &str) -> bool {
    let (n, len) = (short.len(), long.len());
    if n < 3 || len < n + 3 || n > len / 2 + 1 || short.as_bytes().first() != long.as_bytes().first() {
        return false;
    }
    let mut rest = long[1..].chars();
    short[1..].chars().all(|c| rest.any(|l| l == c))
}

/// Similarity of an abbreviation of `n` letters picked in order from a word
/// of `len` ("cnty" / "county"): below a cut-off word of the same length, as
/// more words contain a given pick of letters than start with it.
pub(crate) fn abbreviation_sim(n: usize, len: usize) -> f32 {
    if n < 3 || n >= len {
        return 0.0;
    }
    0.62 + 0.25 * (n as f32 / len as f32)
}

/// Plural and singular spellings to look up for `w`.
pub(crate) fn plural_variants(w: &str) -> impl Iterator<Item = String> + '_ {
    let long = w.len() >= 3;
    let s = w.strip_suffix('s').filter(|r| long && !r.ends_with('s'));
    let es = w.strip_suffix("es").filter(|_| w.len() >= 5);
    let ies = w.strip_suffix("ies").filter(|_| w.len() >= 5).map(|r| format!("{r}y"));
    let y = w.strip_suffix('y').filter(|_| w.len() >= 4).map(|r| format!("{r}ies"));
    let add = (long && !w.ends_with('s')).then(|| format!("{w}s"));
    let add_es = (long && (w.ends_with('s') || w.ends_with('x') || w.ends_with("ch") || w.ends_with("sh")))
        .then(|| format!("{w}es"));
    s.map(str::to_owned)
        .into_iter()
        .chain(es.map(str::to_owned))
        .chain(ies)
        .chain(y)
        .chain(add)
        .chain(add_es)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Full,
    Prefix,
    /// A loose pick of the word's letters ("peron" for "pemberton"): enough to
    /// rank a company first, never to apply it.
    Loose,
}

/// Similarity of site token `p` with vocabulary token `tid`.
fn pair_sim(p: &Probe, tid: u32, vocab: &Vocab) -> (f32, Kind) {
    if p.id == Some(tid) {
        return (1.0, Kind::Full);
    }
    let mut best = (0.0, Kind::Full);
    for &(f, s) in &p.fuzzy {
        if f == tid && s > best.0 {
            best = (s, Kind::Full);
        }
    }
    if best.0 == 0.0 && p.loose.contains(&tid) {
        best = (LOOSE_SIM, Kind::Loose);
    }
    if p.prefixable && best.0 < 0.9 {
        let text = vocab.text(tid);
        let n = text.chars().count();
        for w in [p.raw.as_str(), p.text.as_str()] {
            if text.starts_with(w) {
                let s = prefix_sim(w.chars().count(), n, p.id.is_some());
                if s > best.0 {
                    best = (s, Kind::Prefix);
                }
            }
        }
    }
    best
}

/// `x^e` for `x` in `[0, 1]`, with the exponents used here done by square roots.
fn pow(x: f32, e: f32) -> f32 {
    if e == 1.5 {
        x * x.sqrt()
    } else if e == 0.75 {
        (x * x.sqrt()).sqrt()
    } else {
        x.powf(e)
    }
}

/// Scores the site tokens `probes` against a company's tokens, in `[0, 1]`:
/// how well the aligned tokens agree, times a factor per site token left
/// over, per company token left over, and for word order.
pub(crate) fn score_tokens(probes: &[Probe], company: &[u32], list: bool, vocab: &Vocab) -> f32 {
    align(probes, company, list, vocab, false).score
}

/// How a site's tokens met one company's: the score, and which site tokens
/// were paired with a company token and which were set aside as a tail.
#[derive(Debug, Default)]
pub(crate) struct Alignment {
    pub score: f32,
    /// Indexes of the probes paired with a company token.
    pub matched: Vec<usize>,
    /// Indexes of the probes set aside as a tail.
    pub tail: Vec<usize>,
}

/// The factor for a site token left over after the last paired one, if it
/// reads as a tail (a place, a branch number) rather than as a word that
/// makes the name another organisation's ("Acme Dental Lab", "Acme Dental
/// Imaging"): a number, or a word the tenant's company names use to open a
/// name (places and proper names: "Springfield Dental", "Springfield
/// County") more than to end one, and no business word. A word of no company
/// name is no tail without a separator: nothing tells a new place from a new
/// line of business.
fn tail_factor(p: &Probe, vocab: &Vocab) -> Option<f32> {
    let number = !p.text.is_empty() && p.text.chars().all(|c| c.is_ascii_digit());
    if number {
        Some(TAIL_NUMBER)
    } else if p.id.is_some_and(|id| vocab.leading(id)) && !p.business {
        Some(TAIL_LEADING)
    } else {
        None
    }
}

/// The factor for a word set aside after a separator, by the same reading
/// of the tenant's vocabulary as [`tail_factor`], where a word of no company
/// name is a tail too ("Acme Dental / Annex").
pub(crate) fn set_aside_factor(word: &str, vocab: &Vocab) -> f32 {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_digit()) {
        return TAIL_NUMBER;
    }
    if tables::is_business_word(word) {
        return TAIL_BUSINESS;
    }
    match vocab.get(word) {
        None => TAIL_UNKNOWN,
        Some(id) if vocab.leading(id) => 0.92,
        Some(_) => TAIL_BUSINESS,
    }
}

/// [`score_tokens`] with the pairing it found.
/// `list`: the company's name joins names with "and" ("Mills, Armstrong &
/// Patel"), where every name counts.
/// The pairing is returned only with `detail`: scoring many candidates
/// needs only the score.
pub(crate) fn align(probes: &[Probe], company: &[u32], list: bool, vocab: &Vocab, detail: bool) -> Alignment {
    // Names have at most a few dozen tokens; the cap keeps the flags below fixed-size.
    let mut comp_used = [false; 64];
    let company = &company[..company.len().min(comp_used.len())];
    if probes.is_empty() || company.is_empty() {
        return Alignment::default();
    }
    // Candidate pairs, best first; names are short, so this is a handful.
    let mut pairs: Vec<(f32, f32, usize, usize, Kind)> = Vec::new();
    for (i, p) in probes.iter().enumerate() {
        for (j, &tid) in company.iter().enumerate() {
            let (s, kind) = pair_sim(p, tid, vocab);
            if s > 0.0 {
                pairs.push((s, vocab.weight(tid), i, j, kind));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1)));

    // Greedy one-to-one alignment, most similar pairs first.
    let mut site_used: Vec<Option<usize>> = vec![None; probes.len()];
    let (mut sim_weight, mut weight) = (0.0f32, 0.0f32);
    let mut cut_at: Option<usize> = None;
    let mut loose = false;
    for (s, w, i, j, kind) in pairs {
        if site_used[i].is_some() || comp_used[j] {
            continue;
        }
        site_used[i] = Some(j);
        comp_used[j] = true;
        sim_weight += s * w;
        weight += w;
        loose |= kind == Kind::Loose;
        if i + 1 == probes.len() && kind == Kind::Prefix {
            cut_at = Some(j);
        }
    }
    if sim_weight <= 0.0 || weight <= 0.0 {
        return Alignment::default();
    }
    let rare = vocab.rare_weight();
    let last_paired = site_used.iter().rposition(Option::is_some).unwrap_or(0);
    let mut tail = Vec::new();
    let mut extra = 1.0f32;
    for (i, p) in probes.iter().enumerate() {
        if site_used[i].is_some() {
            continue;
        }
        if i > last_paired
            && !p.joined
            && let Some(f) = tail_factor(p, vocab)
        {
            if detail {
                tail.push(i);
            }
            extra *= f;
            continue;
        }
        // A lone letter left over is an initial: it counts by its weight.
        let floor = if p.text.chars().count() > 1 {
            SITE_EXTRA_FLOOR
        } else {
            0.0
        };
        extra *= 1.0 - SITE_EXTRA_PENALTY * (p.weight / rare).clamp(floor, 1.0);
    }
    // Company words between two paired ones were dropped from the middle, a
    // habit of shortening; words before the first or after the last paired
    // one may make the company another organisation ("of Greenville").
    let first_comp = comp_used.iter().position(|&u| u).unwrap_or(0);
    let last_comp = comp_used.iter().rposition(|&u| u).unwrap_or(0);
    let seq: Vec<usize> = site_used.iter().flatten().copied().collect();
    let in_order = seq.windows(2).all(|w| w[0] < w[1]);
    // "Mills, Armstrong & Patel" without "Armstrong" is another partnership.
    let middle_ok = in_order && !list && cut_at.is_none_or(|k| k < last_comp);
    let mut missing = 1.0f32;
    for (j, &tid) in company.iter().enumerate() {
        if comp_used[j] {
            continue;
        }
        let share = (vocab.weight(tid) / rare).clamp(0.0, 1.0);
        // After the site's cut-off last word, the rest of the name was cut.
        let cut = if cut_at.is_some_and(|k| j > k) {
            TRUNCATED_TAIL
        } else if middle_ok && j > first_comp && j < last_comp {
            MIDDLE_DROPPED
        } else {
            1.0
        };
        missing *= 1.0 - cut * COMPANY_EXTRA_PENALTY * pow(share, COMPANY_EXTRA_EXP);
    }
    // Share of aligned pairs that are out of order.
    let mut inversions = 0usize;
    for (a, &x) in seq.iter().enumerate() {
        inversions += seq[a + 1..].iter().filter(|&&y| y < x).count();
    }
    let pairs_n = seq.len() * seq.len().saturating_sub(1) / 2;
    let order = if pairs_n == 0 {
        1.0
    } else {
        1.0 - ORDER_PENALTY * inversions as f32 / pairs_n as f32
    };

    let quality = sim_weight / weight;
    Alignment {
        score: (pow(quality, QUALITY_EXP) * missing * extra * order).clamp(0.0, if loose { LOOSE_CAP } else { 1.0 }),
        matched: if detail {
            site_used.iter().enumerate().filter_map(|(i, u)| u.map(|_| i)).collect()
        } else {
            Vec::new()
        },
        tail,
    }
}

/// Confidence in the best company, 0..=100: its `score`, times its share of
/// the evidence among all candidates (`key`s, the best's included), each
/// weighing `key^SHARPNESS`. A lone candidate keeps its score; two near names
/// halve it; a site that several companies contain equally well ("Garcia" for
/// a dozen "Garcia ..." companies) falls further.
pub(crate) fn confidence(score: f32, key: f32, keys: impl Iterator<Item = f32>) -> u8 {
    let k = SHARPNESS;
    let total: f32 = keys.map(|x| x.max(0.0).powf(k)).sum();
    let share = if total > 0.0 { key.max(0.0).powf(k) / total } else { 0.0 };
    (100.0 * score * share).round().clamp(0.0, 100.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_similarity_grows_with_length() {
        assert!(typo_sim(1, 4) < typo_sim(1, 8));
        assert_eq!(typo_sim(1, 3), 0.0);
        assert_eq!(typo_sim(2, 6), 0.0);
        assert!(typo_sim(1, 4) < 0.7);
        assert!(typo_sim(2, 10) > 0.6 && typo_sim(2, 10) < typo_sim(1, 10));
    }

    #[test]
    fn prefix_similarity() {
        assert_eq!(prefix_sim(0, 8, false), 0.0);
        assert_eq!(prefix_sim(1, 8, true), 0.0);
        assert_eq!(prefix_sim(8, 8, false), 0.0);
        assert!(prefix_sim(4, 7, false) > prefix_sim(2, 7, false));
        assert!(prefix_sim(4, 7, true) < prefix_sim(4, 7, false));
    }

    #[test]
    fn plurals() {
        let v: Vec<String> = plural_variants("offices").collect();
        assert!(v.contains(&"office".to_owned()));
        let v: Vec<String> = plural_variants("office").collect();
        assert!(v.contains(&"offices".to_owned()));
        let v: Vec<String> = plural_variants("industries").collect();
        assert!(v.contains(&"industry".to_owned()));
        assert_eq!(plural_variants("").count(), 0);
        assert_eq!(plural_variants("s").count(), 0);
    }

    #[test]
    fn confidence_falls_with_a_close_runner_up() {
        assert_eq!(confidence(1.0, 1.0, [1.0].into_iter()), 100);
        assert_eq!(confidence(1.0, 1.0, [1.0, 1.0].into_iter()), 50);
        assert!(confidence(0.9, 0.9, [0.9, 0.85].into_iter()) < confidence(0.9, 0.9, [0.9, 0.5].into_iter()));
        assert_eq!(confidence(0.0, 0.0, [0.0].into_iter()), 0);
    }
}
