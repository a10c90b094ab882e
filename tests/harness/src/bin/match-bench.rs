//! Benchmark of quick match: 10,000 companies, 5,000 sites, one thread.
//!
//! ```text
//! cargo run --release --bin match-bench [-- --seed N --companies N --sites N]
//! ```
//!
//! Generates company and site names deterministically from the seed (firms
//! named after people, "X Dental", "Y Law Group", legal forms, places; sites
//! with location and status tags, sort prefixes, changed legal forms, typos,
//! abbreviations, cut-off names, domains, plus sites of no company), builds a
//! [`CompanyIndex`] and matches every site the way quick match does, with an
//! explanation ([`CompanyIndex::match_site`]; no device evidence). Prints the
//! build time, the match time, sites per second and the peak RSS, then one
//! JSON line with the same figures. The target is under 0.5 s for matching
//! and under 200 MB.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Instant;

use shared::matching::{CompanyIndex, SiteEvidence, normalize_name};

const FIRST: &str = "James, Mary, Robert, Patricia, John, Jennifer, Michael, Linda, David, Elizabeth, William, Barbara, \
    Richard, Susan, Joseph, Jessica, Thomas, Sarah, Charles, Karen, Daniel, Lisa, Matthew, Nancy, \
    Anthony, Betty, Mark, Sandra, Steven, Ashley, Paul, Emily, Andrew, Donna, Kevin, Michelle, Brian, \
    Carol, George, Amanda, Edward, Melissa, Ronald, Deborah, Timothy, Laura, Jason, Rebecca, Ryan, \
    Sharon, Jacob, Cynthia, Gary, Kathleen, Nicholas, Amy, Eric, Angela, Jonathan, Helen, Ana, José, \
    Zoë, Renée";

const LAST: &str = "Smith, Johnson, Williams, Brown, Jones, Garcia, Miller, Davis, Rodriguez, Martinez, Hernandez, \
    Lopez, Gonzalez, Wilson, Anderson, Thomas, Taylor, Moore, Jackson, Martin, Lee, Perez, Thompson, \
    White, Harris, Sanchez, Clark, Ramirez, Lewis, Robinson, Walker, Young, Allen, King, Wright, Scott, \
    Torres, Nguyen, Hill, Flores, Green, Adams, Nelson, Baker, Hall, Rivera, Campbell, Mitchell, Carter, \
    Roberts, Gomez, Phillips, Evans, Turner, Diaz, Parker, Cruz, Edwards, Collins, Reyes, Stewart, \
    Morris, Morales, Murphy, Cook, Rogers, Gutierrez, Ortiz, Morgan, Cooper, Peterson, Bailey, Reed, \
    Kelly, Howard, Ramos, Kim, Cox, Ward, Richardson, Watson, Brooks, Chavez, Wood, James, Bennett, \
    Gray, Mendoza, Ruiz, Hughes, Price, Alvarez, Castillo, Sanders, Patel, Myers, Long, Ross, Foster, \
    Jimenez, Powell, Jenkins, Perry, Russell, Sullivan, Bell, Coleman, Butler, Henderson, Barnes, \
    Gonzales, Fisher, Vasquez, Simmons, Romero, Jordan, Patterson, Alexander, Hamilton, Graham, \
    Reynolds, Griffin, Wallace, Moreno, West, Cole, Hayes, Bryant, Herrera, Gibson, Ellis, Tran, Medina, \
    Aguilar, Stevens, Murray, Ford, Castro, Marshall, Owens, Harrison, Fernandez, McDonald, Woods, \
    Washington, Kennedy, Wells, Vargas, Henry, Chen, Freeman, Webb, Tucker, Guzman, Burns, Crawford, \
    Olson, Simpson, Porter, Hunter, Gordon, Mendez, Silva, Shaw, Snyder, Mason, Dixon, Muñoz, Hunt, \
    Hicks, Holmes, Palmer, Wagner, Black, Robertson, Boyd, Rose, Stone, Salazar, Fox, Warren, Mills, \
    Meyer, Rice, Schmidt, Garza, Daniels, Ferguson, Nichols, Stephens, Soto, Weaver, Ryan, Gardner, \
    Payne, Grant, Dunn, Kelley, Spencer, Hawkins, Arnold, Pierce, Vazquez, Hansen, Peters, Santos, Hart, \
    Bradley, Knight, Elliott, Cunningham, Duncan, Armstrong, Hudson, Carroll, Lane, Riley, Andrews, \
    Alvarado, Ray, Delgado, Berry, Perkins, Hoffman, Johnston, Matthews, Peña, Richards, Willis, \
    Carpenter, Lawrence, Sandoval, Müller, Schröder, Weiß, Köhler, Dubois, Lefèvre, Søren, Łukasz";

const PLACES: &str = "Springfield, Riverside, Franklin, Greenville, Bristol, Clinton, Fairview, Salem, Madison, \
    Georgetown, Arlington, Ashland, Burlington, Manchester, Oxford, Clayton, Jackson, Milton, Auburn, \
    Dayton, Lexington, Milford, Winchester, Hudson, Kingston, Newport, Dover, Chester, Marion, Lebanon, \
    Troy, Columbia, Canton, Dallas, Austin, Denver, Tulsa, Tucson, Fresno, Omaha, Boise, Reno, Spokane, \
    Tacoma, Eugene, Salinas, Modesto, Laredo, Amarillo, Lubbock, Waco, Tyler, Abilene, Odessa, Midland, \
    Macon, Athens, Albany, Augusta, Savannah, Mobile, Montgomery, Huntsville, Knoxville, Chattanooga, \
    Memphis, Nashville, Louisville, Dayton, Akron, Toledo, Peoria, Rockford, Joliet, Naperville, Elgin, \
    Aurora, Gary, Evansville, Erie, Ithaca, Utica, Syracuse, Yonkers, Camden, Trenton, Paterson, Newark, \
    Hartford, Stamford, Norwalk, Waterbury, Providence, Worcester, Lowell, Quincy, Portland, Bangor, \
    Concord, Nashua";

const BRANDS: &str = "Apex, Summit, Pinnacle, Redwood, Evergreen, Bluebird, Ironwood, Silverline, Northstar, Keystone, \
    Cornerstone, Heritage, Liberty, Pioneer, Frontier, Horizon, Meridian, Sterling, Granite, Cedar, \
    Willow, Maple, Aspen, Oakridge, Pine Valley, Lakeside, Riverbend, Stonegate, Brightside, Clearwater, \
    Golden Gate, Harbor, Hilltop, Crystal, Eagle, Falcon, Phoenix, Titan, Atlas, Vertex, Zenith, Nova, \
    Quantum, Sapphire, Emerald, Coastal, Prairie, Mesa, Canyon, Timberline, Blue Ridge, Red Rock, \
    Sunrise, Sunset, Twin Oaks, Silver Creek, Fox Run, Bear Creek, Deer Park, Elm Street, Main Street, \
    Parkside, Westside, Eastside, Northside, Southside, Midtown, Uptown, Bayview, Seaside, Highland, \
    Lowland, Greenway, Brookside, Crossroads, Gateway, Landmark, Benchmark, Trailhead, Skyline, \
    Waypoint, Lighthouse, Anchor";

const TYPES: &str = "Dental, Family Dentistry, Orthodontics, Pediatrics, Dermatology, Chiropractic, Physical Therapy, \
    Veterinary Clinic, Animal Hospital, Eye Care, Optometry, Urgent Care, Medical Associates, Internal \
    Medicine, Family Medicine, Cardiology, Radiology, Pharmacy, Home Health, Hospice, Law Group, Law \
    Firm, Legal Services, Title & Escrow, Insurance Agency, Wealth Management, Financial Advisors, Tax & \
    Accounting, CPA Group, Bookkeeping, Payroll Services, Realty, Properties, Construction, Roofing, \
    Plumbing, Electric, HVAC, Landscaping, Painting, Masonry, Concrete, Fencing, Auto Repair, Tire & \
    Auto, Towing, Trucking, Logistics, Movers, Storage, Printing, Signs, Marketing, Consulting, \
    Software, Technologies, Networks, Solutions, Engineering, Manufacturing, Machine Works, Steel, \
    Supply, Hardware, Furniture, Cabinetry, Kitchen & Bath, Flooring, Bakery, Catering, Restaurant \
    Group, Brewing, Coffee, Florist, Fitness, Salon & Spa, Daycare, Learning Center, Academy, Charter \
    School, Montessori School, Church, Baptist Church, Community Church, Food Bank, Foundation, Animal \
    Rescue, Credit Union";

const LEGAL: &[&str] = &[
    "Inc.",
    "Inc",
    "LLC",
    "L.L.C.",
    "Ltd.",
    "Corp.",
    "Corporation",
    "Co.",
    "Company",
    "PC",
    "P.C.",
    "PLLC",
    "LLP",
    "P.A.",
    "GmbH",
    "AG",
    "S.A.",
    "SARL",
    "B.V.",
    "Pty Ltd",
    "Oy",
    "AB",
    "AS",
    "ApS",
    "Srl",
    "Incorporated",
    "Limited",
];

const MUNICIPAL: &[&str] = &[
    "Public Library",
    "Fire Department",
    "Police Department",
    "Water Department",
    "Public Works",
    "Parks & Recreation",
    "Housing Authority",
    "School District",
    "Public Schools",
    "Utilities",
    "County Clerk",
    "Sheriff's Office",
];

const QUALIFIERS: &[&str] = &[
    "Realty",
    "Leasing",
    "Properties",
    "Storage",
    "Foundation",
    "Holdings",
    "Transport",
    "Lab",
    "Pharmacy",
    "Daycare",
    "Rentals",
    "Trust",
    "Insurance Agency",
    "Surgery Center",
    "Billing Services",
    "Thrift Store",
];

const LOC_TAGS: &[&str] = &[
    " - Main Office",
    " - HQ",
    " - Headquarters",
    " - Branch Office",
    " - Site 1",
    " - Office 2",
    " - Admin",
    " - Servers",
    " - Remote Workers",
    " - Warehouse",
    " - Plant",
    " - Front Desk",
    " - North Campus",
    " Downtown",
    " HQ",
    " - Annex",
    " - Shop",
];

const STATUS_TAGS: &[&str] = &[
    " (Break/Fix)",
    " - Managed",
    " - Fully Managed",
    " (Legacy)",
    " - OLD",
    " (Migrated)",
    " - Monitoring Only",
];

const PREFIXES: &[&str] = &[
    "ZZ-",
    "zz_",
    "00-",
    "1 - ",
    "* ",
    "(old) ",
    "[MSP] ",
    "Client - ",
    "[Managed] ",
];

const INTERNAL: &[&str] = &[
    "Lab",
    "Spare Parts",
    "IT Dept",
    "Sandbox",
    "Default Site",
    "Unassigned Devices",
    "Training Lab",
    "New Devices",
    "Retired Devices",
    "Staging",
    "Internal Servers",
    "Loaners",
    "Bench Stock",
    "Home Users",
];

const ABBREVIATIONS: &[(&str, &str)] = &[
    ("Services", "Svcs"),
    ("Management", "Mgmt"),
    ("Associates", "Assoc"),
    ("Center", "Ctr"),
    ("Department", "Dept"),
    ("Company", "Co"),
    ("Corporation", "Corp"),
    ("Brothers", "Bros"),
    ("Manufacturing", "Mfg"),
    ("International", "Intl"),
    ("Medical", "Med"),
    ("Accounting", "Acctg"),
];

/// The word lists above, split.
struct Words {
    first: Vec<&'static str>,
    last: Vec<&'static str>,
    places: Vec<&'static str>,
    brands: Vec<&'static str>,
    types: Vec<&'static str>,
}

impl Words {
    fn new() -> Self {
        let split = |list: &'static str| list.split(',').map(str::trim).filter(|w| !w.is_empty()).collect();
        Words {
            first: split(FIRST),
            last: split(LAST),
            places: split(PLACES),
            brands: split(BRANDS),
            types: split(TYPES),
        }
    }
}

/// SplitMix64: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }
}

fn company_name(rng: &mut Rng, w: &Words) -> String {
    let legal = |rng: &mut Rng| {
        if rng.chance(0.4) {
            format!(" {}", rng.pick(LEGAL))
        } else {
            String::new()
        }
    };
    match rng.below(12) {
        0 | 1 => format!("{} {}{}", rng.pick(&w.last), rng.pick(&w.types), legal(rng)),
        2 => format!("{} & {}{}", rng.pick(&w.last), rng.pick(&w.last), legal(rng)),
        3 => format!(
            "{}, {} & {}{}",
            rng.pick(&w.last),
            rng.pick(&w.last),
            rng.pick(&w.last),
            legal(rng)
        ),
        4 | 5 => format!("{} {}{}", rng.pick(&w.brands), rng.pick(&w.types), legal(rng)),
        6 => format!("Law Offices of {} {}", rng.pick(&w.first), rng.pick(&w.last)),
        7 => format!(
            "Dr. {} {}, {}",
            rng.pick(&w.first),
            rng.pick(&w.last),
            rng.pick(&["DDS", "MD", "DVM"])
        ),
        8 => format!("{} {}", rng.pick(&w.places), rng.pick(MUNICIPAL)),
        9 => format!("{} of {}", rng.pick(&["City", "Town", "Village"]), rng.pick(&w.places)),
        10 => format!(
            "{} {} of {}",
            rng.pick(&w.brands),
            rng.pick(&w.types),
            rng.pick(&w.places)
        ),
        _ => format!("{} {} {}", rng.pick(&w.first), rng.pick(&w.last), rng.pick(&w.types)),
    }
}

/// One random slip: a letter dropped, doubled, swapped or replaced.
fn typo(rng: &mut Rng, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    let letters: Vec<usize> = (0..chars.len()).filter(|&i| chars[i].is_alphabetic()).collect();
    if letters.len() < 4 {
        return name.to_owned();
    }
    let i = letters[1 + rng.below(letters.len() - 2)];
    match rng.below(4) {
        0 => {
            chars.remove(i);
        }
        1 => chars.insert(i, chars[i]),
        2 if i + 1 < chars.len() => chars.swap(i, i + 1),
        _ => chars[i] = (b'a' + rng.below(26) as u8) as char,
    }
    chars.into_iter().collect()
}

fn strip_legal(name: &str) -> &str {
    LEGAL
        .iter()
        .find_map(|l| name.strip_suffix(l).map(str::trim_end))
        .unwrap_or(name)
}

fn site_name(rng: &mut Rng, company: &str) -> String {
    let mut s = company.to_owned();
    if rng.chance(0.5) {
        s = format!("{} {}", strip_legal(&s), rng.pick(LEGAL));
    }
    if rng.chance(0.15) {
        for (full, short) in ABBREVIATIONS {
            s = s.replace(full, short);
        }
    }
    if rng.chance(0.1) {
        s = typo(rng, &s);
    }
    if rng.chance(0.05) {
        // Cut inside a word: a cut between words would make "Acme Dental Lab"
        // "Acme Dental", which is another company's name, not a cut-off one.
        let chars: Vec<char> = s.chars().collect();
        let mut keep = (chars.len() * 3 / 4).max(4).min(chars.len());
        while keep < chars.len() && (!chars[keep].is_alphanumeric() || !chars[keep - 1].is_alphanumeric()) {
            keep += 1;
        }
        s = chars[..keep].iter().collect();
    }
    if rng.chance(0.04) {
        let label: String = strip_legal(company).chars().filter(|c| c.is_alphanumeric()).collect();
        s = format!("{}.{}", label.to_lowercase(), rng.pick(&["com", "net", "org", "local"]));
    }
    match rng.below(4) {
        0 => s = s.to_uppercase(),
        1 => s = s.to_lowercase(),
        _ => {}
    }
    if rng.chance(0.5) {
        s.push_str(rng.pick(LOC_TAGS));
    }
    if rng.chance(0.15) {
        s.push_str(rng.pick(STATUS_TAGS));
    }
    if rng.chance(0.2) {
        s = format!("{}{}", rng.pick(PREFIXES), s);
    }
    s
}

/// A name's words in sorted order: names with the same key are the same
/// company as far as the benchmark is concerned ("X Corp" and "X Ltd").
fn name_key(name: &str) -> String {
    let norm = normalize_name(name);
    let mut words: Vec<&str> = norm.split(' ').collect();
    words.sort_unstable();
    words.join(" ")
}

/// Peak resident set size of this process in MB, from /proc (Linux only).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

struct Args {
    seed: u64,
    companies: usize,
    sites: usize,
    /// Print wrong auto-maps to stderr.
    show_errors: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seed: 42,
        companies: 10_000,
        sites: 5_000,
        show_errors: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--show-errors" {
            args.show_errors = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let n: u64 = value.parse().map_err(|_| format!("{flag}: not a number: {value}"))?;
        match flag.as_str() {
            "--seed" => args.seed = n,
            "--companies" => args.companies = n as usize,
            "--sites" => args.sites = n as usize,
            _ => {
                return Err(format!(
                    "unknown option {flag}; usage: match-bench [--seed N] [--companies N] [--sites N] [--show-errors]"
                ));
            }
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("match-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let mut rng = Rng(args.seed);
    let words = Words::new();

    // Companies with unique names; some get a sibling with a qualifier
    // ("Acme Dental" and "Acme Dental Lab"), the hard case for a matcher.
    let mut seen = HashSet::new();
    let mut companies: Vec<(String, String)> = Vec::with_capacity(args.companies);
    while companies.len() < args.companies {
        let name = if !companies.is_empty() && rng.chance(0.05) {
            let base = strip_legal(&companies[rng.below(companies.len())].1).to_owned();
            format!("{base} {}", rng.pick(QUALIFIERS))
        } else {
            company_name(&mut rng, &words)
        };
        if seen.insert(name_key(&name)) {
            companies.push((format!("C{:06}", companies.len()), name));
        }
    }
    // Sites: most derived from a company, the rest of no company at all.
    let mut sites: Vec<(String, Option<usize>)> = Vec::with_capacity(args.sites);
    while sites.len() < args.sites {
        if rng.chance(0.85) {
            let c = rng.below(companies.len());
            sites.push((site_name(&mut rng, &companies[c].1), Some(c)));
        } else if rng.chance(0.2) {
            sites.push((rng.pick(INTERNAL).to_owned(), None));
        } else {
            let name = company_name(&mut rng, &words);
            if !seen.contains(&name_key(&name)) {
                sites.push((site_name(&mut rng, &name), None));
            }
        }
    }

    let start = Instant::now();
    let index = CompanyIndex::new(companies.iter().map(|(id, name)| (id.clone(), name.as_str())));
    let build = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let (mut auto, mut auto_right, mut top1_right, mut derived) = (0usize, 0usize, 0usize, 0usize);
    for (name, truth) in &sites {
        let m = index.match_site(name, &SiteEvidence::default()).map(|m| m.result());
        let right = match (&m, truth) {
            (Some(m), Some(c)) => m.company_id == companies[*c].0,
            _ => false,
        };
        derived += usize::from(truth.is_some());
        top1_right += usize::from(right);
        if let Some(m) = m.as_ref().filter(|m| m.auto_maps()) {
            auto += 1;
            auto_right += usize::from(right);
            if args.show_errors && !right {
                let chosen = companies
                    .iter()
                    .find(|c| c.0 == m.company_id)
                    .map_or("?", |c| c.1.as_str());
                let truth = truth.map_or("(none)", |c| companies[c].1.as_str());
                eprintln!("{:3} {name:?} -> {chosen:?}, truth {truth:?}", m.confidence);
            }
        }
    }
    let matching = start.elapsed().as_secs_f64();
    let rate = sites.len() as f64 / matching.max(1e-9);
    let rss = peak_rss_mb();
    let precision = if auto > 0 { auto_right as f64 / auto as f64 } else { 0.0 };
    let recall = if derived > 0 {
        auto_right as f64 / derived as f64
    } else {
        0.0
    };
    let top1 = if derived > 0 {
        top1_right as f64 / derived as f64
    } else {
        0.0
    };

    println!("companies            {}", companies.len());
    println!("sites                {}", sites.len());
    println!("index build          {:.1} ms", build * 1e3);
    println!("matching             {:.1} ms (one thread)", matching * 1e3);
    println!("total                {:.1} ms", (build + matching) * 1e3);
    println!("sites per second     {rate:.0}");
    match rss {
        Some(mb) => println!("peak RSS             {mb:.1} MB"),
        None => println!("peak RSS             unknown (no /proc/self/status)"),
    }
    println!("auto-mapped          {auto} (precision {precision:.3}, recall {recall:.3}; synthetic sanity check only)");
    println!("top-1 accuracy       {top1:.3}");
    println!(
        "{{\"companies\":{},\"sites\":{},\"build_ms\":{:.1},\"match_ms\":{:.1},\"total_ms\":{:.1},\"sites_per_s\":{:.0},\"peak_rss_mb\":{},\"auto_mapped\":{},\"auto_precision\":{:.4},\"auto_recall\":{:.4},\"top1\":{:.4},\"seed\":{}}}",
        companies.len(),
        sites.len(),
        build * 1e3,
        matching * 1e3,
        (build + matching) * 1e3,
        rate,
        rss.map_or("null".to_owned(), |mb| format!("{mb:.1}")),
        auto,
        precision,
        recall,
        top1,
        args.seed
    );
    ExitCode::SUCCESS
}
