#!/usr/bin/env python3
"""Labelled quick-match sets with naming habits of their own.

    python3 gen.py --habits a --seed 7 --out /tmp/match-a
    python3 gen.py --habits b --seed 11 --out /tmp/match-b

Writes companies.csv, sites.csv, truth.csv and meta.csv in the layout the
scorer reads (site_uid,company_id for the truth; kind, decoy_type, category,
ops, source_company_id for the breakdown). Standard library only, and
deterministic for a seed.

The word pools below are written for this generator; they are not taken from
any other labelled set. Habit set "a" writes tails after many kinds of
separators, shortens words to letters of their own, writes acronyms with
tails, glues names into domains, makes several typos and adds sort prefixes.
Habit set "b" puts client codes and ticket numbers in front, appends a city
without a separator, uses DBA names, tenant domains, underscores and squashed
words, drops words from the middle, adds department and device-group tails and
moves "The" to the end. Both sets have sites of no company, many built to look
like one: another business type, another person, a company plus a qualifier,
internal sites, and codes in front of names of no company.
"""
import argparse
import csv
import os
import random
import re
import uuid

SURNAMES = """Abernathy Ackerly Aldana Alvey Amundsen Arkwright Ashdown Baptiste Barlowe Beauchamp Belcourt
Benedetti Birkett Blackwood Bohannon Boswell Brannigan Bristow Brodsky Buckner Calloway Carbajal Castellano
Chadwick Cheever Cisneros Coggins Colquitt Corriveau Crenshaw Dabney Dalrymple Delacroix Desjardins Dowling
Drummond Dunleavy Eckhardt Ellsworth Esparza Falconer Farrow Fenwick Fitzhugh Forsythe Galloway Garrity
Gillespie Goddard Grantham Gunderson Hadley Halvorsen Hardcastle Hartwell Haverford Hollister Huxley Ingersoll
Jablonski Jessup Kavanagh Kearney Kessler Kilbride Kowalczyk Lachance Langford Larkspur Ledbetter Lindqvist
Lockhart Lundgren Macready Maldonado Marchetti Mayhew McAllister Merriweather Montague Moynihan Nakamura
Northcott Oakley Ogilvie Ostrowski Pacheco Pemberton Penhallow Quimby Radcliffe Rasmussen Redfern Rhinehart
Rutledge Saltonstall Santangelo Schuyler Sheffield Sinclair Slattery Stanhope Strickland Sutcliffe Tallmadge
Thibodeaux Trowbridge Underhill Vandermeer Villanueva Wadsworth Wakefield Weatherby Whitcombe Winslow Yardley
Zamora Zellweger Okafor Nguyen Haddad Petrov Lindahl Moreau Kaufmann Oyelaran Varga Szabo Tanaka Quintero""".split()

FIRST = """Adele Bruno Cecil Delia Emmett Flora Gideon Harriet Ivo Juno Keaton Leona Milo Nadia Otis Paloma
Quentin Rosalind Silas Tamsin Ulric Vera Wendell Xenia Yusuf Zelda""".split()

PLACES = """Ashbury Brookhollow Cedarvale Dunmore Elkridge Fallbrook Glenmoor Harrowgate Ironbridge Juniper
Kingsford Larchmont Millbrook Northwick Oakhurst Pinecrest Quarry Rockport Stillwater Thornbury Upland
Valemont Westbrook Yarrow Ambler Belmar Carlow Dorset Eastlake Foxborough Granby Hartland Ipswich Jarrett
Kenmore Lindale Marlow Newbury Orland Pembrook Redmond Shelby Tiverton Unity Verona Wexford""".split()

BRANDS = """Amberline Bluecrest Copperleaf Driftwood Emberglow Fernhill Goldfinch Hollowbrook Indigo Kestrel
Lodestar Moonstone Nightingale Orchard Peregrine Quicksilver Riverstone Saffron Tidewater Umber Verdant
Windmere Bramble Cobalt Dovetail Falconridge Greystone Harvest Juniperline Lanternlight Meadowlark
Northbridge Oakline Pinnacle Redtail Sandpiper Thistle Wildflower""".split()

# (type words, category). Multi-word types are common in real names.
TYPES = [
    ("Orthodontics", "medical"), ("Dermatology Associates", "medical"), ("Family Practice", "medical"),
    ("Optometry", "medical"), ("Cardiology Group", "medical"), ("Physical Therapy", "medical"),
    ("Veterinary Hospital", "medical"), ("Pediatric Dentistry", "medical"), ("Urgent Care", "medical"),
    ("Law Firm", "law"), ("Legal Group", "law"), ("Attorneys at Law", "law"), ("Title Company", "law"),
    ("Accounting", "accounting"), ("Tax Advisors", "accounting"), ("Bookkeeping Services", "accounting"),
    ("Wealth Partners", "accounting"), ("Insurance Agency", "business"), ("Trucking", "business"),
    ("Logistics", "business"), ("Roofing", "business"), ("Plumbing & Heating", "business"),
    ("Electrical Contractors", "business"), ("Landscape Design", "business"), ("Millwork", "business"),
    ("Cabinet Makers", "business"), ("Machine Shop", "business"), ("Tool & Die", "business"),
    ("Printing", "business"), ("Signworks", "business"), ("Marketing Agency", "business"),
    ("Software", "business"), ("Engineering", "business"), ("Architects", "business"),
    ("Surveying", "business"), ("Realty", "business"), ("Property Management", "business"),
    ("Storage", "business"), ("Bakery", "business"), ("Brewing Company", "business"),
    ("Coffee Roasters", "business"), ("Florist", "business"), ("Auto Body", "business"),
    ("Tire Center", "business"), ("Equipment Rental", "business"), ("Builders", "business"),
    ("Concrete", "business"), ("Excavating", "business"), ("Opticians", "medical"),
    ("Community Church", "church"), ("Lutheran Church", "church"), ("Bible Fellowship", "church"),
    ("Montessori", "school"), ("Christian Academy", "school"), ("Preparatory School", "school"),
    ("Food Pantry", "nonprofit"), ("Humane Society", "nonprofit"), ("Arts Council", "nonprofit"),
]

LEGAL = ["", "", "", " LLC", " Inc.", " Inc", " Corp.", " Co.", " Ltd", " P.C.", " PLLC", " LLP", ", Inc."]
QUALIFIERS = ["Foundation", "Realty", "Holdings", "Supply", "Rentals", "Outlet", "Academy", "Lab", "Consulting"]


def municipal(rng):
    p = rng.choice(PLACES)
    return rng.choice([
        f"City of {p}", f"{p} County", f"Town of {p}", f"{p} Fire District", f"{p} Public Library",
        f"{p} Water Authority", f"{p} Housing Authority", f"Village of {p}", f"{p} Township",
    ]), "municipal"


def company_name(rng):
    r = rng.random()
    if r < 0.08:
        return municipal(rng)
    t, cat = rng.choice(TYPES)
    if r < 0.35:
        return f"{rng.choice(SURNAMES)} {t}{rng.choice(LEGAL)}", cat
    if r < 0.5:
        return f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)}{rng.choice(LEGAL)}", "law"
    if r < 0.75:
        return f"{rng.choice(BRANDS)} {t}{rng.choice(LEGAL)}", cat
    if r < 0.85:
        return f"{rng.choice(PLACES)} {t}{rng.choice(LEGAL)}", cat
    if r < 0.92:
        return f"{rng.choice(FIRST)} {rng.choice(SURNAMES)} {t}", cat
    return f"The {rng.choice(BRANDS)} {t.split()[0]}", cat


def key(name):
    """Same-company key: lower-case words without legal forms and glue."""
    words = re.findall(r"[a-z0-9]+", name.lower().replace(".", ""))
    drop = {"llc", "inc", "corp", "co", "ltd", "pc", "pllc", "llp", "the", "of", "and", "dba", "services", "group"}
    return " ".join(sorted(w for w in words if w not in drop))


def strip_legal(name):
    for l in sorted(LEGAL, key=len, reverse=True):
        if l and name.endswith(l):
            return name[: -len(l)]
    return name


def core(name):
    """The name without legal form and without a dba part."""
    name = re.split(r"\s+dba\s+", name, flags=re.I)[0]
    return strip_legal(name).strip()


def typo(rng, word):
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(4)
    if op == 0:
        return word[:i] + word[i + 1:]
    if op == 1:
        return word[:i] + word[i] + word[i:]
    if op == 2:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + rng.choice("abcdefghiklmnoprstu") + word[i + 1:]


def shorten(rng, word):
    """An abbreviation built from the word's own letters."""
    w = word.lower()
    if len(w) < 6:
        return word
    kind = rng.randrange(3)
    if kind == 0:  # prefix
        s = w[: rng.randint(3, 5)]
    elif kind == 1:  # consonant skeleton
        s = w[0] + "".join(c for c in w[1:] if c not in "aeiou")
        s = s[: rng.randint(3, 5)]
    else:  # in-order subsequence keeping first letter and some others
        keep = sorted(rng.sample(range(1, len(w)), min(len(w) - 1, rng.randint(2, 4))))
        s = w[0] + "".join(w[i] for i in keep)
    return s.capitalize()


def case(rng, s):
    r = rng.random()
    if r < 0.2:
        return s.upper()
    if r < 0.35:
        return s.lower()
    return s


def words_of(name):
    return name.split()


GLUE = {"of", "and", "&", "the", "at"}

# ----- habit set A -------------------------------------------------------

SEPS_A = [" @ ", " :: ", " #", " | ", " / ", " - ", " ~ ", " > ", " -- ", ": ", " // ", " * "]


def tail_a(rng):
    return rng.choice([
        lambda: rng.choice(PLACES),
        lambda: f"Bldg {rng.choice('ABCDEFGH')}",
        lambda: f"Loc {rng.randint(1, 9)}",
        lambda: rng.choice(["Annex", "Warehouse", "Yard", "Depot", "Lobby", "Rectory", "Clinic Wing"]),
        lambda: f"{rng.randint(1, 40)}",
        lambda: rng.choice(["Monitoring Only", "Patch Only", "Break Fix", "Onboarding", "Retired"]),
        lambda: f"{rng.choice(['North', 'South', 'East', 'West'])} Campus",
        lambda: f"Suite {rng.randint(100, 450)}",
        lambda: f"{rng.choice(PLACES)} Branch",
    ])()


def ops_decoy(ops):
    return "decoy" in ops


def site_a(rng, name, ops):
    base = core(name)
    ws = words_of(base)
    r = rng.random()
    if r < 0.12 and len([w for w in ws if w.lower() not in GLUE]) >= 2:
        ops.append("acronym")
        s = "".join(w[0] for w in ws if w.lower() not in GLUE).upper()
        if rng.random() < 0.4:
            s += rng.choice([" P.C.", " LLC", " Inc"])
    elif r < 0.22:
        ops.append("glued")
        s = re.sub(r"[^A-Za-z0-9]", "", base)
        if rng.random() < 0.3 and not ops_decoy(ops):
            s = s[: max(6, len(s) - rng.randint(1, 3))]
        s = s.upper() if rng.random() < 0.5 else s.lower()
        if rng.random() < 0.3:
            s += rng.choice([".com", ".net", ".local"])
    else:
        s = base
        if rng.random() < 0.4:
            s = strip_legal(name)
        if rng.random() < 0.35:
            ops.append("abbrev_letters")
            ws = s.split()
            cands = [i for i, w in enumerate(ws) if len(w) >= 6 and w.isalpha()]
            for i in rng.sample(cands, min(len(cands), rng.randint(1, 2))):
                ws[i] = shorten(rng, ws[i]) + ("." if rng.random() < 0.3 else "")
            s = " ".join(ws)
        if rng.random() < 0.3:
            ops.append("multi_typo")
            ws = s.split()
            cands = [i for i, w in enumerate(ws) if len(w) >= 5]
            for i in rng.sample(cands, min(len(cands), rng.randint(2, 3))):
                ws[i] = typo(rng, ws[i])
            s = " ".join(ws)
        s = case(rng, s)
    if rng.random() < 0.7:
        ops.append("tail_sep")
        t = tail_a(rng)
        if rng.random() < 0.2:
            s = f"{s} ({t})"
        else:
            s = s + rng.choice(SEPS_A) + t
    if rng.random() < 0.2:
        ops.append("sort_prefix")
        s = rng.choice(["a - ", "z-", "zz ", "1. ", "_", "~", "b-", "x_"]) + s
    return s


# ----- habit set B -------------------------------------------------------

DEPT_TAILS = ["Servers", "VDI", "Reception", "Workstations", "Laptops", "Front Desk", "Kiosks",
              "Lab PCs", "Accounting Dept", "Exam Rooms", "Shop Floor", "Domain Controllers"]


def code_for(rng, name):
    letters = "".join(w[0] for w in core(name).split() if w[0].isalpha()).upper() or "X"
    return rng.choice([
        lambda: f"{rng.randint(10000, 99999)} - ",
        lambda: f"[{letters[:3]}] ",
        lambda: f"{(letters + 'XX')[:4]}{rng.randint(1, 9):02d} - ",
        lambda: f"(old) {(letters + 'xx')[:4].lower()}{rng.randint(1, 9):02d} ",
        lambda: f"#{rng.randint(1000, 9999)} ",
        lambda: f"T{rng.randint(100000, 999999)} ",
        lambda: f"{''.join(rng.choice('ABCDEFGHJKLMNPRSTW') for _ in range(3))}-",
    ])()


def site_b(rng, name, ops):
    dba = re.split(r"\s+dba\s+", name, flags=re.I)
    if len(dba) == 2 and rng.random() < 0.8:
        ops.append("dba")
        x, y = strip_legal(dba[0]).strip(), dba[1].strip()
        s = rng.choice([y, f"{y} ({x})", y])
    else:
        s = core(name)
        ws = s.split()
        content = [i for i, w in enumerate(ws) if w.lower() not in GLUE]
        r = rng.random()
        if r < 0.1:
            ops.append("tenant_domain")
            label = re.sub(r"[^a-z0-9]", "", s.lower())
            s = f"{label}.onmicrosoft.com"
        elif r < 0.22:
            ops.append("underscore")
            s = "_".join(ws)
        elif r < 0.32:
            ops.append("squashed")
            if len(ws) >= 2:
                k = rng.randrange(len(ws) - 1)
                ws[k:k + 2] = [ws[k] + ws[k + 1]]
            s = " ".join(ws)
        elif r < 0.42 and len(content) >= 3:
            ops.append("drop_middle")
            del ws[content[1]]
            s = " ".join(ws)
        elif r < 0.5 and ws[0] == "The":
            ops.append("the_end")
            s = " ".join(ws[1:]) + ", The"
        s = case(rng, s)
    if rng.random() < 0.3:
        ops.append("city_nosep")
        s = f"{s} {rng.choice(PLACES)}"
    elif rng.random() < 0.35:
        ops.append("dept_tail")
        s = s + rng.choice([" - ", " / ", " - "]) + rng.choice(DEPT_TAILS)
    if rng.random() < 0.4:
        ops.append("code_prefix")
        s = code_for(rng, name) + s
    return s


# ----- decoys --------------------------------------------------------------

INTERNAL = ["Spare Parts", "Test Lab", "Bench Machines", "MSP Internal", "Loaners", "Staging",
            "Quarantine", "New Devices", "Recycle Bin", "Demo Units"]


def decoy(rng, companies, keys, habits):
    kind = rng.choice(["fresh", "swap_type", "change_ident", "qualifier", "internal", "code_fresh"])
    for _ in range(50):
        name, _ = rng.choice(companies)
        base = core(name)
        ws = base.split()
        if kind == "fresh":
            s = company_name(rng)[0]
        elif kind == "swap_type":
            t = rng.choice(TYPES)[0]
            first = ws[0] if ws[0] != "The" else ws[1]
            s = f"{first} {t}"
        elif kind == "change_ident":
            names = [i for i, w in enumerate(ws) if w in SURNAMES]
            if not names:
                continue
            ws[names[0]] = rng.choice(SURNAMES)
            s = " ".join(ws)
        elif kind == "qualifier":
            s = f"{base} {rng.choice(QUALIFIERS)}"
        elif kind == "internal":
            s = rng.choice(INTERNAL)
            if rng.random() < 0.5:
                s = f"{rng.choice(['MSP', 'IT', 'Helpdesk'])} - {s}"
        else:
            fresh = company_name(rng)[0]
            if key(fresh) in keys:
                continue
            s = code_for(rng, fresh) + fresh
        if key(s) in keys or not s.strip():
            continue
        ops = ["decoy"]
        if kind in ("fresh", "swap_type", "change_ident", "qualifier") and rng.random() < 0.5:
            s = (site_a if habits == "a" else site_b)(rng, s, ops)
            if key(s) in keys:
                continue
        return s, kind
    return "Unknown Site", "internal"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--habits", choices=["a", "b"], required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--companies", type=int, default=2000)
    ap.add_argument("--sites", type=int, default=2500)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)

    companies, keys = [], set()
    while len(companies) < a.companies:
        r = rng.random()
        if companies and r < 0.07:
            # A sibling: the same name plus a qualifier, another company.
            base, cat = rng.choice(companies)
            name = f"{core(base)} {rng.choice(QUALIFIERS)}"
        elif r < 0.11:
            x, _ = company_name(rng)
            y, cat = company_name(rng)
            name = f"{strip_legal(x)} LLC dba {strip_legal(y)}"
        else:
            name, cat = company_name(rng)
        k = key(name)
        parts = [key(p) for p in re.split(r"\s+dba\s+", name)]
        if k in keys or any(p in keys for p in parts):
            continue
        keys.add(k)
        keys.update(parts)
        companies.append((name, cat))
    ids = [str(100000 + i * 7 + rng.randrange(7)) for i in range(len(companies))]

    sites, truth, meta = [], [], []
    n_decoy = int(a.sites * 0.15)
    for i in range(a.sites):
        uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if i < n_decoy:
            s, kind = decoy(rng, companies, keys, a.habits)
            sites.append((uid, s))
            truth.append((uid, ""))
            meta.append((uid, "decoy", kind, "", "", ""))
        else:
            c = rng.randrange(len(companies))
            ops = []
            s = (site_a if a.habits == "a" else site_b)(rng, companies[c][0], ops)
            sites.append((uid, s))
            truth.append((uid, ids[c]))
            meta.append((uid, "derived", "", companies[c][1], "|".join(ops) or "plain", ids[c]))
    order = list(range(len(sites)))
    rng.shuffle(order)

    os.makedirs(a.out, exist_ok=True)

    def write(fname, header, rows):
        with open(os.path.join(a.out, fname), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)

    write("companies.csv", ["id", "name"], [(ids[i], n) for i, (n, _) in enumerate(companies)])
    write("sites.csv", ["uid", "name"], [sites[i] for i in order])
    write("truth.csv", ["site_uid", "company_id"], [truth[i] for i in order])
    write("meta.csv", ["site_uid", "kind", "decoy_type", "category", "ops", "source_company_id"],
          [meta[i] for i in order])


if __name__ == "__main__":
    main()
