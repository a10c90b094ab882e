//! The company index: vocabulary, IDF weights, an inverted index over tokens,
//! a deletion index for typos, and sorted keys for names written as one word
//! (domains) and for acronyms. Building it is linear in the company list;
//! a lookup touches only companies that share something with the site.

use std::cell::RefCell;
use std::fmt;

use super::normalize::{Parsed, Tok, View, clean, parse, views};
use super::score::{self, Probe};
use super::tables;
use super::vocab::{FnvMap, Vocab, fnv, fnv_without};
use super::{DeviceCounts, DeviceOverlap, Evidence, ExplainedMatch, Explanation, MatchResult, SiteEvidence};

/// Pseudo-count of the IDF prior: how many "imagined" companies back the
/// prior frequencies below. Matters for small tenants only.
const PRIOR_COMPANIES: f32 = 200.0;
/// Prior share of companies that contain a generic word ("Group", "Dental").
const PRIOR_GENERIC: f32 = 0.05;
/// Prior share for any other word.
const PRIOR_OTHER: f32 = 0.002;
/// Companies scored in full per site, picked by their share of weighted tokens.
const SHORTLIST: usize = 24;
/// A cut-off word is expanded only if it starts at most this many words.
const MAX_PREFIX_EXPANSION: usize = 64;
/// An unseen word is looked up as an abbreviation only among at most this
/// many words with its first letter, and keeps at most so many expansions.
const MAX_ABBREVIATION_SCAN: usize = 4096;
const MAX_ABBREVIATIONS: usize = 24;
/// Device evidence: the factor a single matching device gets (two get
/// half the doubt, three a quarter), and the part of the device score that
/// does not depend on the share of the site's devices matched.
const DEVICE_ONE_DOUBT: f32 = 0.15;
const DEVICE_COVERAGE_BASE: f32 = 0.7;
/// A score from which the plain reading of a name is taken as it is.
const PERFECT: f32 = 0.99;
/// Weight factor of filler words ("Group", "Services").
const FILLER_WEIGHT: f32 = 0.5;
/// Added to the score of a company with the site's legal form.
const LEGAL_TIE_BREAK: f32 = 0.02;

struct IndexedCompany {
    id: String,
    /// The entry that stands for the company: a name with "dba" gives the
    /// company one entry per name, all pointing at the first.
    owner: u32,
    /// Content tokens, in name order.
    tokens: Box<[u32]>,
    /// Legal forms of the name, for breaking ties.
    legal: Box<str>,
    /// The name joins names with "and".
    list: bool,
}

/// All companies of one tenant, prepared for matching site names against.
///
/// Read-only once built: share it between threads freely. Each lookup keeps
/// a little scratch space per thread.
pub struct CompanyIndex {
    /// One entry per name of a company (most have one).
    companies: Vec<IndexedCompany>,
    /// Number of companies (not entries).
    company_count: usize,
    /// Company id -> its first entry.
    by_id: FnvMap<Box<str>, u32>,
    vocab: Vocab,
    /// Inverted index in CSR form: companies of token `t` are
    /// `post[post_start[t]..post_start[t + 1]]`.
    post_start: Vec<u32>,
    post: Vec<u32>,
    /// Every spelling of every token: (text, token id).
    spellings: Vec<(Box<str>, u32)>,
    /// (hash of a spelling with one or two characters deleted, index into
    /// `spellings`), sorted.
    deletes: Vec<(u64, u32)>,
    /// (name written as one word, company), sorted.
    concat: Vec<(Box<str>, u32)>,
    /// (initials, company), sorted.
    acronyms: Vec<(Box<str>, u32)>,
}

impl fmt::Debug for CompanyIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompanyIndex")
            .field("companies", &self.companies.len())
            .field("words", &self.vocab.texts.len())
            .finish_non_exhaustive()
    }
}

/// Per-thread scratch space for gathering candidates, so a lookup does not
/// allocate and clear an array the size of the company list.
#[derive(Default)]
struct Scratch {
    /// Accumulated weight per company.
    acc: Vec<f32>,
    /// Last probe (stamp) that credited each company.
    mark: Vec<u32>,
    stamp: u32,
    touched: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// `s` with each character deleted in turn.
fn deletions(s: &str) -> impl Iterator<Item = String> + '_ {
    s.char_indices().map(move |(i, c)| {
        let mut d = String::with_capacity(s.len());
        d.push_str(&s[..i]);
        d.push_str(&s[i + c.len_utf8()..]);
        d
    })
}

fn initials<'a>(toks: impl Iterator<Item = &'a Tok>) -> String {
    toks.filter_map(|t| t.raw.chars().next()).collect()
}

/// The names of a company written "X dba Y" (also "d/b/a", "aka", "fka"):
/// the legal name and the trade name, both names a site may carry. A name
/// without such a word is its only name.
pub(crate) fn trade_names(name: &str) -> Vec<&str> {
    const MARKERS: [&str; 8] = ["dba", "d/b/a", "d.b.a.", "d.b.a", "aka", "a/k/a", "fka", "f/k/a"];
    let mut out = Vec::new();
    let mut at = 0;
    for word in name.split_ascii_whitespace() {
        if word.len() <= 6 && MARKERS.iter().any(|m| word.eq_ignore_ascii_case(m)) {
            // Byte offset of the word within `name`.
            let start = word.as_ptr() as usize - name.as_ptr() as usize;
            out.push(&name[at..start]);
            at = start + word.len();
        }
    }
    out.push(&name[at..]);
    out.retain(|p| p.chars().any(char::is_alphanumeric));
    if out.is_empty() {
        out.push(name);
    }
    out
}

fn equal_range<'a, K: AsRef<str>>(v: &'a [(K, u32)], key: &str) -> &'a [(K, u32)] {
    let lo = v.partition_point(|(k, _)| k.as_ref() < key);
    let hi = lo + v[lo..].partition_point(|(k, _)| k.as_ref() == key);
    &v[lo..hi]
}

impl CompanyIndex {
    /// Builds the index from `(id, name)` pairs.
    pub fn new<I, S1, S2>(companies: I) -> Self
    where
        I: IntoIterator<Item = (S1, S2)>,
        S1: Into<String>,
        S2: AsRef<str>,
    {
        let mut ids: FnvMap<Box<str>, u32> = FnvMap::default();
        let mut texts: Vec<Box<str>> = Vec::new();
        let mut list: Vec<IndexedCompany> = Vec::new();
        let mut parsed_all: Vec<Parsed> = Vec::new();
        let mut intern = |t: &str, ids: &mut FnvMap<Box<str>, u32>| -> u32 {
            if let Some(&id) = ids.get(t) {
                return id;
            }
            let id = texts.len() as u32;
            texts.push(t.into());
            ids.insert(t.into(), id);
            id
        };
        let mut company_count = 0;
        for (id, name) in companies {
            let id: String = id.into();
            let owner = list.len() as u32;
            company_count += 1;
            // "Smith Trucking LLC dba Blue Line Freight": both names.
            for part in trade_names(name.as_ref()) {
                let parsed = parse(part);
                let tokens: Vec<u32> = parsed.content().map(|t| intern(&t.text, &mut ids)).collect();
                let joins = parsed.tokens.iter().any(|t| t.text == "and");
                list.push(IndexedCompany {
                    id: id.clone(),
                    owner,
                    tokens: tokens.into(),
                    legal: parsed.legal.as_str().into(),
                    list: joins,
                });
                parsed_all.push(parsed);
            }
        }
        // Other spellings lead to the same token, unless they are a token of
        // their own: German umlauts ("baeckerei" for "bäckerei") and the word
        // as written before abbreviations were expanded ("dentistry" for
        // "dental"), so that a misspelling of it is still found.
        let mut aliases: Vec<(Box<str>, u32)> = Vec::new();
        for p in &parsed_all {
            for t in p.content() {
                let Some(&id) = ids.get(t.text.as_str()) else { continue };
                let alt = t.alt.as_deref().filter(|_| t.text == t.raw);
                for spelling in alt.into_iter().chain((t.raw != t.text).then_some(t.raw.as_str())) {
                    if !ids.contains_key(spelling) {
                        ids.insert(spelling.into(), id);
                        aliases.push((spelling.into(), id));
                    }
                }
            }
        }

        let n_tok = texts.len();
        let mut df = vec![0u32; n_tok];
        for c in &list {
            let mut seen: Vec<u32> = c.tokens.to_vec();
            seen.sort_unstable();
            seen.dedup();
            for t in seen {
                df[t as usize] += 1;
            }
        }
        let n = list.len() as f32;
        let idf_of = |df: f32, prior: f32| ((n + PRIOR_COMPANIES) / (df + PRIOR_COMPANIES * prior)).ln().max(0.05);
        let weight: Vec<f32> = texts
            .iter()
            .zip(&df)
            .map(|(t, &d)| {
                let prior = if tables::contains(tables::GENERIC_WORDS, t) {
                    PRIOR_GENERIC
                } else {
                    PRIOR_OTHER
                };
                let w = idf_of(d as f32, prior);
                // A lone letter is an initial: it tells little.
                let w = if t.chars().count() == 1 { w * 0.5 } else { w };
                let filler = if tables::contains(tables::FILLER_WORDS, t) {
                    FILLER_WEIGHT
                } else {
                    1.0
                };
                w * w * filler
            })
            .collect();
        // Position in the names: +1 for opening one, -1 for ending one.
        let mut lead = vec![0i32; n_tok];
        for c in list.iter().filter(|c| c.tokens.len() >= 2) {
            lead[c.tokens[0] as usize] += 1;
            lead[c.tokens[c.tokens.len() - 1] as usize] -= 1;
        }
        let leading: Vec<bool> = lead.iter().map(|&l| l > 0).collect();
        let mut sorted: Vec<u32> = (0..n_tok as u32).collect();
        sorted.sort_unstable_by(|&a, &b| texts[a as usize].cmp(&texts[b as usize]));
        let vocab = Vocab {
            unknown_weight: idf_of(0.0, PRIOR_OTHER).powi(2),
            rare_weight: idf_of(1.0, PRIOR_OTHER).powi(2),
            ids,
            texts,
            weight,
            sorted,
            leading,
        };

        // Inverted index.
        let mut post_start = vec![0u32; n_tok + 1];
        for c in &list {
            for &t in c.tokens.iter() {
                post_start[t as usize + 1] += 1;
            }
        }
        for i in 0..n_tok {
            post_start[i + 1] += post_start[i];
        }
        let mut fill = post_start.clone();
        let mut post = vec![0u32; post_start[n_tok] as usize];
        for (ci, c) in list.iter().enumerate() {
            for &t in c.tokens.iter() {
                let slot = &mut fill[t as usize];
                post[*slot as usize] = ci as u32;
                *slot += 1;
            }
        }

        // Words of 4+ letters with one letter deleted, of 7+ also with two.
        let mut deletes: Vec<(u64, u32)> = Vec::new();
        let spellings: Vec<(Box<str>, u32)> = vocab
            .texts
            .iter()
            .enumerate()
            .map(|(id, t)| (t.clone(), id as u32))
            .chain(aliases)
            .collect();
        for (sp, (t, _)) in spellings.iter().enumerate() {
            let (id, n) = (sp as u32, t.chars().count());
            if n >= 4 {
                let chars: Vec<char> = t.chars().collect();
                for i in 0..n {
                    deletes.push((fnv_without(&chars, [i, usize::MAX]), id));
                    if n >= 7 {
                        deletes.extend((i + 1..n).map(|j| (fnv_without(&chars, [i, j]), id)));
                    }
                }
            }
        }
        deletes.sort_unstable();
        deletes.dedup();

        let mut concat: Vec<(Box<str>, u32)> = Vec::new();
        let mut acronyms: Vec<(Box<str>, u32)> = Vec::new();
        for (ci, p) in parsed_all.iter().enumerate() {
            let key = p.concat();
            if !key.is_empty() {
                concat.push((key.as_str().into(), ci as u32));
            }
            if p.content().count() >= 2 {
                acronyms.push((initials(p.content()).into(), ci as u32));
            }
            if let Some(rest) = key.strip_prefix("the").filter(|r| r.len() >= 4) {
                concat.push((rest.into(), ci as u32));
            }
        }
        concat.sort_unstable();
        acronyms.sort_unstable();

        let mut by_id: FnvMap<Box<str>, u32> = FnvMap::default();
        for c in &list {
            by_id.entry(c.id.trim().into()).or_insert(c.owner);
        }
        CompanyIndex {
            companies: list,
            company_count,
            by_id,
            vocab,
            post_start,
            post,
            spellings,
            deletes,
            concat,
            acronyms,
        }
    }

    /// Number of companies indexed.
    pub fn len(&self) -> usize {
        self.company_count
    }

    /// Whether no company was indexed.
    pub fn is_empty(&self) -> bool {
        self.companies.is_empty()
    }

    fn postings(&self, token: u32) -> &[u32] {
        let (a, b) = (
            self.post_start[token as usize] as usize,
            self.post_start[token as usize + 1] as usize,
        );
        &self.post[a..b]
    }

    /// Vocabulary tokens within a small edit distance of an unseen word.
    fn typo_neighbours(&self, word: &str) -> Vec<(u32, f32)> {
        let len = word.chars().count();
        // No word is longer than 30 letters; the search is quadratic in length.
        if !(3..=30).contains(&len) {
            return Vec::new();
        }
        // Indexes into `spellings`.
        let mut cands: Vec<u32> = Vec::new();
        let lookup = |h: u64, cands: &mut Vec<u32>| {
            let lo = self.deletes.partition_point(|&(k, _)| k < h);
            cands.extend(
                self.deletes[lo..]
                    .iter()
                    .take_while(|&&(k, _)| k == h)
                    .map(|&(_, sp)| sp),
            );
        };
        // Symmetric deletion: two words within edit distance k share a form
        // with at most k letters deleted from each. Hash collisions only cost
        // an edit-distance check below.
        let mut inserted: Vec<(u32, f32)> = Vec::new();
        lookup(fnv(word), &mut cands);
        let chars: Vec<char> = word.chars().collect();
        for (i, d) in deletions(word).enumerate() {
            // The word is a known spelling with one letter added.
            if let Some(id) = self.vocab.get(&d) {
                inserted.push((id, score::typo_sim(1, len)));
            }
            lookup(fnv(&d), &mut cands);
            if len >= 6 {
                for j in i + 1..len {
                    lookup(fnv_without(&chars, [i, j]), &mut cands);
                }
            }
        }
        cands.sort_unstable();
        cands.dedup();
        let mut out: Vec<(u32, f32)> = cands
            .into_iter()
            .filter_map(|sp| {
                let (text, id) = self.spellings.get(sp as usize)?;
                if text.chars().count().abs_diff(len) > 2 {
                    return None;
                }
                let dist = strsim::osa_distance(word, text);
                let s = score::typo_sim(dist, len.max(text.chars().count()));
                (s > 0.0).then_some((*id, s))
            })
            .chain(inserted.into_iter().filter(|&(_, s)| s > 0.0))
            .collect();
        // One entry per token, with its best similarity.
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        out.dedup_by_key(|e| e.0);
        out
    }

    /// Splits a word written without spaces into vocabulary words, the last
    /// one possibly cut off: "hillsidemennoni" -> "hillside mennoni".
    fn segment(&self, word: &str) -> Option<Vec<Tok>> {
        let bounds: Vec<usize> = word.char_indices().map(|(i, _)| i).chain([word.len()]).collect();
        let n = bounds.len() - 1;
        if !(4..=60).contains(&n) {
            return None;
        }
        // cost[i]: fewest pieces (a cut-off piece costs more) covering the first i chars.
        let mut cost: Vec<Option<(f32, usize)>> = vec![None; n + 1];
        cost[0] = Some((0.0, 0));
        for i in 0..n {
            let Some((c, _)) = cost[i] else { continue };
            for j in i + 1..=n {
                let piece = &word[bounds[i]..bounds[j]];
                let single = j == i + 1;
                let known = self.vocab.get(piece).is_some()
                    || tables::contains(tables::STOPWORDS, piece)
                    || tables::contains(tables::CONNECTORS, piece)
                    || tables::contains(tables::LEGAL_END, piece)
                    || tables::contains(tables::LEGAL_ANYWHERE, piece);
                // Lone letters are costly: they would let anything through.
                let step = match (known, single) {
                    (true, false) => 1.0,
                    (true, true) => 1.5,
                    (false, _) if j == n && !self.vocab.starting_with(piece).is_empty() => {
                        if single {
                            2.0
                        } else {
                            1.5
                        }
                    }
                    _ => continue,
                };
                if cost[j].is_none_or(|(cj, _)| c + step < cj) {
                    cost[j] = Some((c + step, i));
                }
            }
        }
        let mut pieces = Vec::new();
        let mut j = n;
        while j > 0 {
            let (_, i) = cost[j]?;
            pieces.push(Tok::plain(&word[bounds[i]..bounds[j]]));
            j = i;
        }
        pieces.reverse();
        (pieces.len() >= 2).then(|| clean(pieces, &mut Vec::new()))
    }

    /// The site's tokens, resolved against the vocabulary. A word of no
    /// company name that splits into words of company names ("JensenTrucking"
    /// amid other words) becomes those words.
    /// Glue words are dropped; an "and" marks the word after it as joined.
    fn probes<'a>(&self, toks: impl Iterator<Item = &'a Tok>) -> Vec<Probe> {
        self.probes_memo(toks, &mut Vec::new())
    }

    /// [`probes`](Self::probes), reusing the probes of tokens seen before in
    /// `memo`: the readings of one name share most of their words.
    fn probes_memo<'a>(&self, toks: impl Iterator<Item = &'a Tok>, memo: &mut Memo) -> Vec<Probe> {
        let mut joined = false;
        let toks: Vec<(&Tok, bool)> = toks
            .filter_map(|t| {
                if t.is_stopword() {
                    joined = t.text == "and";
                    return None;
                }
                Some((t, std::mem::take(&mut joined)))
            })
            .collect();
        let last = toks.len().saturating_sub(1);
        let mut out = Vec::with_capacity(toks.len());
        for (k, &(t, joined)) in toks.iter().enumerate() {
            let prefixable = k == last || t.dotted;
            let mut p = match memo.iter().find(|(m, f, _)| *f == prefixable && m == t) {
                Some((_, _, p)) => p.clone(),
                None => {
                    let p = self.probe(t, prefixable);
                    memo.push((t.clone(), prefixable, p.clone()));
                    p
                }
            };
            p.joined = joined;
            if toks.len() > 1
                && p.id.is_none()
                && p.fuzzy.is_empty()
                && t.raw.chars().count() >= 7
                && let Some(pieces) = self.segment(&t.raw)
            {
                let pieces: Vec<&Tok> = pieces.iter().filter(|t| !t.is_stopword()).collect();
                let n = pieces.len();
                for (j, piece) in pieces.into_iter().enumerate() {
                    out.push(self.probe(piece, k == last && j + 1 == n));
                }
                continue;
            }
            out.push(p);
        }
        out
    }

    fn probe(&self, t: &Tok, prefixable: bool) -> Probe {
        let id = self
            .vocab
            .get(&t.text)
            .or_else(|| t.alt.as_deref().and_then(|a| self.vocab.get(a)))
            .or_else(|| self.vocab.get(&t.raw));
        let mut fuzzy: Vec<(u32, f32)> = score::plural_variants(&t.text)
            .filter_map(|v| self.vocab.get(&v))
            .filter(|&v| Some(v) != id)
            .map(|v| (v, score::PLURAL_SIM))
            .collect();
        if id.is_none() {
            fuzzy.extend(self.typo_neighbours(&t.text));
        }
        let mut loose = Vec::new();
        if id.is_none() && !t.initials {
            let (strict, picks) = self.abbreviated(&t.raw);
            loose = picks;
            for (v, s) in strict {
                match fuzzy.iter_mut().find(|(f, _)| *f == v) {
                    Some(e) => e.1 = e.1.max(s),
                    None => fuzzy.push((v, s)),
                }
            }
        }
        let weight = match id {
            Some(i) => self.vocab.weight(i),
            None => fuzzy
                .iter()
                .map(|&(f, _)| self.vocab.weight(f))
                .fold(None, |m: Option<f32>, w| Some(m.map_or(w, |m| m.max(w))))
                .unwrap_or(self.vocab.unknown_weight()),
        };
        Probe {
            text: t.text.clone(),
            raw: t.raw.clone(),
            // A word of no company name may be cut short wherever it stands.
            prefixable: prefixable || id.is_none(),
            id,
            weight,
            fuzzy,
            joined: false,
            business: tables::is_business_word(&t.text) || tables::is_business_word(&t.raw),
            loose,
        }
    }

    /// Vocabulary words that an unseen short word abbreviates by their own
    /// letters: the same first letter and the rest in order ("cnty" for
    /// "county", "biic" for "biomedic", "opto" for "optometry"). A prefix is
    /// handled as a cut-off word elsewhere; this finds the skeletons and
    /// other in-order picks, with a similarity that grows with the share of
    /// the word's letters kept.
    /// Also returns the words it picks letters of only loosely.
    fn abbreviated(&self, word: &str) -> (Vec<(u32, f32)>, Vec<u32>) {
        let n = word.chars().count();
        if !(3..=8).contains(&n) || !word.chars().all(|c| c.is_ascii_lowercase()) {
            return (Vec::new(), Vec::new());
        }
        let range = self.vocab.starting_with(&word[..1]);
        if range.len() > MAX_ABBREVIATION_SCAN {
            return (Vec::new(), Vec::new());
        }
        let mut out: Vec<(u32, f32)> = Vec::new();
        let mut loose: Vec<u32> = Vec::new();
        for &id in range {
            let w = self.vocab.text(id);
            let len = w.len();
            if len < n + 2 || w.starts_with(word) {
                continue;
            }
            if score::abbreviates(word, w) {
                out.push((id, score::abbreviation_sim(n, len)));
            } else if loose.len() < MAX_ABBREVIATIONS && score::picks_letters(word, w) {
                loose.push(id);
            }
        }
        if out.len() > MAX_ABBREVIATIONS {
            out.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            out.truncate(MAX_ABBREVIATIONS);
        }
        (out, loose)
    }

    /// Companies sharing weighted tokens with the probes, best share first.
    fn shortlist(&self, probes: &[Probe]) -> Vec<u32> {
        // The per-thread scratch, or a fresh one if it is unavailable (in use
        // further up the stack, or the thread is shutting down).
        let with_scratch = |sc: &mut Scratch| self.shortlist_in(probes, sc);
        SCRATCH
            .try_with(|cell| match cell.try_borrow_mut() {
                Ok(mut sc) => with_scratch(&mut sc),
                Err(_) => with_scratch(&mut Scratch::default()),
            })
            .unwrap_or_else(|_| with_scratch(&mut Scratch::default()))
    }

    fn shortlist_in(&self, probes: &[Probe], sc: &mut Scratch) -> Vec<u32> {
        {
            let n = self.companies.len();
            if sc.acc.len() != n {
                *sc = Scratch {
                    acc: vec![0.0; n],
                    mark: vec![0; n],
                    stamp: 0,
                    touched: Vec::new(),
                };
            }
            for p in probes {
                // What this probe may stand for, best first: a company is
                // credited once per probe, with its best expansion.
                let mut expansions: Vec<(u32, f32)> =
                    p.id.map(|id| (id, 1.0))
                        .into_iter()
                        .chain(p.fuzzy.iter().copied())
                        .collect();
                if p.prefixable && p.raw.chars().count() >= 3 {
                    let range = self.vocab.starting_with(&p.raw);
                    if range.len() <= MAX_PREFIX_EXPANSION {
                        let plen = p.raw.chars().count();
                        expansions.extend(range.iter().filter(|&&t| Some(t) != p.id).map(|&t| {
                            (
                                t,
                                score::prefix_sim(plen, self.vocab.text(t).chars().count(), p.id.is_some()),
                            )
                        }));
                    }
                }
                let mut credits: Vec<(u32, f32)> = expansions
                    .into_iter()
                    .map(|(t, s)| (t, s * self.vocab.weight(t)))
                    .collect();
                credits.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
                sc.stamp = sc.stamp.wrapping_add(1);
                if sc.stamp == 0 {
                    sc.mark.iter_mut().for_each(|m| *m = 0);
                    sc.stamp = 1;
                }
                for (tid, credit) in credits {
                    for &c in self.postings(tid) {
                        let c = c as usize;
                        if sc.mark[c] == sc.stamp {
                            continue;
                        }
                        sc.mark[c] = sc.stamp;
                        if sc.acc[c] == 0.0 {
                            sc.touched.push(c as u32);
                        }
                        sc.acc[c] += credit;
                    }
                }
            }
            let mut v: Vec<(u32, f32)> = sc.touched.iter().map(|&c| (c, sc.acc[c as usize])).collect();
            for &c in &sc.touched {
                sc.acc[c as usize] = 0.0;
            }
            sc.touched.clear();
            let by_credit = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
            if v.len() > SHORTLIST {
                v.select_nth_unstable_by(SHORTLIST, by_credit);
                v.truncate(SHORTLIST);
            }
            v.sort_unstable_by(by_credit);
            v.into_iter().map(|(c, _)| c).collect()
        }
    }

    fn score_view(&self, probes: &[Probe], scores: &mut Vec<(u32, f32)>) {
        for c in self.shortlist(probes) {
            let e = &self.companies[c as usize];
            let s = score::score_tokens(probes, &e.tokens, e.list, &self.vocab);
            bump(scores, c, s);
        }
    }

    /// The site written without spaces equals a company written so ("Tri
    /// State" / "Tristate"), maybe with a legal form run on ("acmellc").
    fn score_concat(&self, parsed: &Parsed, scores: &mut Vec<(u32, f32)>) {
        let key = parsed.concat();
        if key.len() < 4 {
            return;
        }
        let mut keys = vec![key.as_str()];
        keys.extend(key.strip_prefix("the").filter(|r| r.len() >= 4));
        for k in keys {
            for &(_, c) in equal_range(&self.concat, k) {
                bump(scores, c, 0.97);
            }
            for suffix in tables::LEGAL_ANYWHERE.iter().chain(tables::LEGAL_END) {
                if let Some(stem) = k.strip_suffix(suffix).filter(|s| s.len() >= 4) {
                    for &(_, c) in equal_range(&self.concat, stem) {
                        bump(scores, c, 0.95);
                    }
                }
            }
        }
    }

    /// A site that is one short word may be an acronym ("SBDG", "M.G.E.").
    fn score_acronym(&self, parsed: &Parsed, scores: &mut Vec<(u32, f32)>) {
        let content: Vec<&Tok> = parsed.content().collect();
        let [t] = content.as_slice() else { return };
        let n = t.raw.chars().count();
        let alnum = t.raw.chars().all(|c| c.is_ascii_alphanumeric()) && t.raw.chars().any(|c| c.is_ascii_alphabetic());
        if !(2..=6).contains(&n) || !alnum {
            return;
        }
        let s = match n {
            2 => 0.40,
            3 => 0.62,
            4 => 0.64,
            _ => 0.65,
        };
        for &(_, c) in equal_range(&self.acronyms, &t.raw) {
            bump(scores, c, s);
        }
    }

    /// Scores of all plausible companies for one reading of a site, best per entry.
    fn score_parsed(&self, parsed: &Parsed, scores: &mut Vec<(u32, f32)>, memo: &mut Memo) {
        let probes = self.probes_memo(parsed.tokens.iter(), memo);
        self.score_view(&probes, scores);
        let content: Vec<&Tok> = parsed.content().collect();
        if let [only] = content.as_slice() {
            // "TLS (Titan Legal Services)": the brackets spell out the acronym.
            for g in &parsed.paren {
                let words: Vec<&Tok> = g.iter().filter(|t| !t.is_stopword()).collect();
                if words.len() >= 2 && initials(words.iter().copied()) == only.raw {
                    let probes = self.probes(words.into_iter());
                    self.score_view(&probes, scores);
                }
            }
            // "HILLSIDEMENNONI": a name written as one word, maybe cut off.
            if probes.first().is_some_and(|p| p.id.is_none())
                && let Some(pieces) = self.segment(&only.raw)
            {
                let probes = self.probes(pieces.iter().filter(|t| !t.is_stopword()));
                self.score_view(&probes, scores);
            }
        }
        self.score_concat(parsed, scores);
        self.score_acronym(parsed, scores);
    }

    /// Scores of all plausible companies for a site, best first, one per
    /// company, over all readings of the name; and the readings.
    /// Also returns the probes made, for [`explanation`](Self::explanation).
    fn ranked(&self, site_name: &str) -> (Vec<Ranked>, Vec<View>, Memo) {
        let views = views(site_name);
        let mut out: Vec<Ranked> = Vec::new();
        let mut memo = Vec::new();
        if self.companies.is_empty() {
            return (out, views, memo);
        }
        let mut scores: Vec<(u32, f32)> = Vec::new();
        let base_tail = views.first().map_or(0, |v| v.tail.len());
        for (vi, view) in views.iter().enumerate() {
            let parsed = &view.parsed;
            if parsed.tokens.is_empty() {
                continue;
            }
            // A reading that a company explains word for word needs no other.
            if vi > 0 && out.iter().any(|r| r.view == 0 && r.score >= PERFECT) {
                break;
            }
            // Words this reading sets aside that the plain one keeps cost by
            // what the tenant's names say of them.
            let extra = view.tail.len().saturating_sub(base_tail);
            let factor = view.factor
                * view.tail[..extra]
                    .iter()
                    .map(|w| score::set_aside_factor(w, &self.vocab))
                    .product::<f32>()
                    .max(score::SET_ASIDE_FLOOR);
            scores.clear();
            self.score_parsed(parsed, &mut scores, &mut memo);
            for &(entry, s) in &scores {
                let score = s * factor;
                if score <= 0.0 {
                    continue;
                }
                let e = &self.companies[entry as usize];
                // Same legal form (or none on both): a nudge that only decides
                // between names that are otherwise equal.
                let key = if *e.legal == *parsed.legal {
                    score + LEGAL_TIE_BREAK
                } else {
                    score
                };
                let r = Ranked {
                    company: e.owner,
                    entry,
                    view: vi,
                    score,
                    key,
                };
                match out.iter_mut().find(|x| x.company == e.owner) {
                    Some(x) if x.key < key => *x = r,
                    Some(_) => {}
                    None => out.push(r),
                }
            }
        }
        out.sort_unstable_by(|a, b| b.key.total_cmp(&a.key).then(a.company.cmp(&b.company)));
        (out, views, memo)
    }

    /// The most likely company for a site name, with a confidence, or `None`
    /// when no company shares anything with it.
    pub fn best_match(&self, site_name: &str) -> Option<MatchResult> {
        let (ranked, _, _) = self.ranked(site_name);
        let best = ranked.first()?;
        Some(MatchResult {
            company_id: self.companies[best.company as usize].id.clone(),
            confidence: score::confidence(best.score, best.key, ranked.iter().map(|r| r.key)),
        })
    }

    /// Up to `limit` candidates, best first, for a picker. The first carries
    /// the same confidence as [`best_match`](Self::best_match); the others
    /// their plain score (0..=100), since a margin means nothing for them.
    pub fn top_matches(&self, site_name: &str, limit: usize) -> Vec<MatchResult> {
        let (ranked, _, _) = self.ranked(site_name);
        ranked
            .iter()
            .take(limit)
            .enumerate()
            .map(|(k, r)| MatchResult {
                company_id: self.companies[r.company as usize].id.clone(),
                confidence: if k == 0 {
                    score::confidence(r.score, r.key, ranked.iter().map(|r| r.key))
                } else {
                    (100.0 * r.score).round().clamp(0.0, 100.0) as u8
                },
            })
            .collect()
    }

    /// [`best_match`](Self::best_match) by the name alone, with why.
    pub fn explain(&self, site_name: &str) -> Option<ExplainedMatch> {
        self.match_site(site_name, &SiteEvidence::default())
    }

    /// The most likely company for a site from all the evidence there is:
    /// the company Datto already links the site to (certain), the devices
    /// the site shares with each company's PSA configurations, and the name.
    /// Each candidate's name confidence and device confidence combine as
    /// independent evidence; device evidence for another company counts
    /// against it, so a name is not applied against what the devices say.
    pub fn match_site(&self, site_name: &str, evidence: &SiteEvidence<'_>) -> Option<ExplainedMatch> {
        let (ranked, views, mut memo) = self.ranked(site_name);
        let devices = self.device_scores(evidence.device_overlap);
        if let Some(&owner) = evidence.psa_company_id.and_then(|id| self.by_id.get(id.trim())) {
            let mut e = self.explanation(&ranked, &views, owner, &mut memo);
            e.evidence = Evidence::PsaId;
            e.devices = devices.iter().find(|d| d.company == owner).map(|d| d.counts);
            return Some(ExplainedMatch {
                company_id: self.companies[owner as usize].id.clone(),
                confidence: 100,
                explanation: e,
            });
        }
        let total: f32 = ranked.iter().map(|r| r.key.max(0.0).powf(score::SHARPNESS)).sum();
        let name_conf = |c: u32| {
            ranked.iter().find(|r| r.company == c).map_or(0.0, |r| {
                let share = if total > 0.0 {
                    r.key.max(0.0).powf(score::SHARPNESS) / total
                } else {
                    0.0
                };
                r.score * share
            })
        };
        let device_conf = |c: u32| devices.iter().find(|d| d.company == c).map_or(0.0, |d| d.score);
        let mut candidates: Vec<u32> = ranked.iter().take(SHORTLIST).map(|r| r.company).collect();
        candidates.extend(
            devices
                .iter()
                .map(|d| d.company)
                .filter(|c| !ranked.iter().any(|r| r.company == *c)),
        );
        if devices.is_empty() {
            // The name alone: exactly `best_match`.
            candidates.truncate(1);
        }
        let mut best: Option<(u32, f32, f32, f32)> = None;
        for &c in &candidates {
            let (n, d) = (name_conf(c), device_conf(c));
            let against = devices
                .iter()
                .filter(|x| x.company != c)
                .map(|x| x.score)
                .fold(0.0f32, f32::max);
            let combined = (1.0 - (1.0 - n) * (1.0 - d)) * (1.0 - against);
            // The name's order decides among equals, so that without devices
            // this is exactly `best_match`.
            if best.is_none_or(|(_, b, _, _)| combined > b + 1e-6) {
                best = Some((c, combined, n, d));
            }
        }
        let (company, combined, n, d) = best?;
        let mut e = self.explanation(&ranked, &views, company, &mut memo);
        let counts = devices.iter().find(|x| x.company == company).map(|x| x.counts);
        e.devices = counts;
        if d > n
            && let Some(c) = counts
        {
            e.evidence = Evidence::DeviceOverlap {
                matching_devices: c.matching_devices,
                site_devices: c.site_devices,
            };
        }
        let confidence = if devices.is_empty() {
            // Exactly the name's confidence, rounded the same way.
            ranked
                .first()
                .filter(|r| r.company == company)
                .map_or((100.0 * combined).round(), |r| {
                    f32::from(score::confidence(r.score, r.key, ranked.iter().map(|r| r.key)))
                })
        } else {
            (100.0 * combined).round()
        };
        Some(ExplainedMatch {
            company_id: self.companies[company as usize].id.clone(),
            confidence: confidence.clamp(0.0, 100.0) as u8,
            explanation: e,
        })
    }

    /// Device evidence per company of the index: how strongly the site's
    /// devices that the PSA lists as a company's configurations point at it.
    /// Purity (the share of the matched devices that are this company's)
    /// times coverage (the share of the site's devices matched, counting
    /// for part) times a factor that grows with the number of devices, as
    /// one device may have been moved or mislabelled.
    fn device_scores(&self, overlap: &[DeviceOverlap]) -> Vec<DeviceScore> {
        let mut out: Vec<DeviceScore> = Vec::new();
        for o in overlap {
            let Some(&company) = self.by_id.get(o.company_id.trim()) else {
                continue;
            };
            if o.matching_devices == 0 {
                continue;
            }
            match out.iter_mut().find(|d| d.company == company) {
                Some(d) => d.counts.matching_devices += o.matching_devices,
                None => out.push(DeviceScore {
                    company,
                    counts: DeviceCounts {
                        matching_devices: o.matching_devices,
                        site_devices: o.site_devices.max(o.matching_devices),
                    },
                    score: 0.0,
                }),
            }
        }
        let all: u32 = out.iter().map(|d| d.counts.matching_devices).sum();
        for d in &mut out {
            let m = d.counts.matching_devices as f32;
            let purity = m / all.max(1) as f32;
            let coverage = (m / d.counts.site_devices.max(1) as f32).min(1.0);
            let count = 1.0 - DEVICE_ONE_DOUBT * 0.5f32.powf(m - 1.0);
            d.score = purity * (DEVICE_COVERAGE_BASE + (1.0 - DEVICE_COVERAGE_BASE) * coverage) * count;
        }
        out
    }

    /// What the name says for `company`: the site words paired with the
    /// company's and the words set aside.
    fn explanation(&self, ranked: &[Ranked], views: &[View], company: u32, memo: &mut Memo) -> Explanation {
        let mut e = Explanation {
            evidence: Evidence::Name,
            devices: None,
            matched_words: Vec::new(),
            set_aside: Vec::new(),
        };
        let Some(r) = ranked.iter().find(|r| r.company == company) else {
            return e;
        };
        let Some(view) = views.get(r.view) else { return e };
        let probes = self.probes_memo(view.parsed.tokens.iter(), memo);
        let entry = &self.companies[r.entry as usize];
        let a = score::align(&probes, &entry.tokens, entry.list, &self.vocab, true);
        e.set_aside.extend(view.prefix.iter().cloned());
        if a.score > 0.0 {
            e.matched_words = a.matched.iter().map(|&i| probes[i].raw.clone()).collect();
            e.set_aside.extend(a.tail.iter().map(|&i| probes[i].raw.clone()));
        } else {
            // Matched as a whole: written as one word, or as initials.
            e.matched_words = view.parsed.content().map(|t| t.raw.clone()).collect();
        }
        for g in &view.parsed.paren {
            e.set_aside.extend(g.iter().map(|t| t.raw.clone()));
        }
        e.set_aside.extend(view.tail.iter().cloned());
        e
    }
}

/// Probes already made for one site: (token, whether it may be cut short, probe).
type Memo = Vec<(Tok, bool, Probe)>;

/// Device evidence for one company, resolved to an index entry.
struct DeviceScore {
    company: u32,
    counts: DeviceCounts,
    score: f32,
}

/// A scored company: `key` orders, `score` is what the confidence rests on.
struct Ranked {
    /// The company's first entry.
    company: u32,
    /// The entry (name of the company) that scored.
    entry: u32,
    /// The reading of the site name that scored.
    view: usize,
    score: f32,
    key: f32,
}

/// Records score `s` for company `c`, keeping the best per company. The list
/// is short (a shortlist or two), so a linear scan beats hashing.
fn bump(scores: &mut Vec<(u32, f32)>, c: u32, s: f32) {
    match scores.iter_mut().find(|(k, _)| *k == c) {
        Some(e) => e.1 = e.1.max(s),
        None => scores.push((c, s)),
    }
}
