//! Word lists and small generators for realistic MSP data: client (site) names, people,
//! hostnames, hardware vendors and models, operating systems.
//!
//! Everything here is synthetic; any resemblance to a real organisation is accidental.

use crate::rng::{HEX_UPPER, Rng, UPPER_ALNUM};

pub const SURNAMES: &[&str] = &[
    "Abbott",
    "Ainsworth",
    "Alvarez",
    "Anders",
    "Archer",
    "Ashford",
    "Baker",
    "Barlow",
    "Bassett",
    "Beckett",
    "Bennett",
    "Bishop",
    "Blackwood",
    "Bradley",
    "Brennan",
    "Brooks",
    "Caldwell",
    "Callahan",
    "Carver",
    "Chandler",
    "Chen",
    "Clayton",
    "Cole",
    "Conley",
    "Crawford",
    "Dalton",
    "Davenport",
    "Delgado",
    "Donovan",
    "Drummond",
    "Duncan",
    "Ellison",
    "Emerson",
    "Fairbanks",
    "Fenwick",
    "Fischer",
    "Fitzgerald",
    "Fletcher",
    "Forsyth",
    "Foster",
    "Gallagher",
    "Garner",
    "Gibson",
    "Goodwin",
    "Graham",
    "Greene",
    "Hadley",
    "Hale",
    "Hammond",
    "Harper",
    "Hartley",
    "Hawkins",
    "Hayes",
    "Holloway",
    "Hughes",
    "Ingram",
    "Jennings",
    "Keller",
    "Kendall",
    "Kimura",
    "Lambert",
    "Langley",
    "Lawson",
    "Lennox",
    "Lindqvist",
    "Lowell",
    "Maddox",
    "Mercer",
    "Monroe",
    "Morales",
    "Nakamura",
    "Nash",
    "Nolan",
    "Novak",
    "O'Brien",
    "O'Connor",
    "Okafor",
    "Osborne",
    "Patel",
    "Pemberton",
    "Prescott",
    "Quinn",
    "Ramsey",
    "Reyes",
    "Rhodes",
    "Riordan",
    "Rowe",
    "Russo",
    "Sandoval",
    "Sawyer",
    "Schmidt",
    "Shaw",
    "Sinclair",
    "Slater",
    "Sterling",
    "Sullivan",
    "Sutton",
    "Thornton",
    "Tran",
    "Underwood",
    "Vance",
    "Vasquez",
    "Wagner",
    "Walsh",
    "Warren",
    "Webb",
    "Whitaker",
    "Whitfield",
    "Winslow",
    "Wolfe",
    "Yates",
    "Young",
    "Zimmerman",
];

pub const FIRST_NAMES: &[&str] = &[
    "Aaron",
    "Abigail",
    "Adam",
    "Aisha",
    "Alan",
    "Alice",
    "Amelia",
    "Andrew",
    "Anna",
    "Ben",
    "Brian",
    "Carla",
    "Carlos",
    "Catherine",
    "Chloe",
    "Chris",
    "Daniel",
    "David",
    "Diana",
    "Emily",
    "Emma",
    "Eric",
    "Fatima",
    "Frank",
    "Grace",
    "Hannah",
    "Henry",
    "Ian",
    "Isabel",
    "Jack",
    "James",
    "Jane",
    "Jason",
    "Jennifer",
    "John",
    "Julia",
    "Karen",
    "Kevin",
    "Laura",
    "Liam",
    "Linda",
    "Lucy",
    "Maria",
    "Mark",
    "Mary",
    "Matt",
    "Megan",
    "Michael",
    "Mohammed",
    "Nancy",
    "Nathan",
    "Nina",
    "Olivia",
    "Omar",
    "Patrick",
    "Paul",
    "Priya",
    "Rachel",
    "Raj",
    "Rebecca",
    "Robert",
    "Ruth",
    "Ryan",
    "Sam",
    "Sarah",
    "Scott",
    "Sophie",
    "Stephen",
    "Susan",
    "Thomas",
    "Tom",
    "Wei",
    "William",
    "Yusuf",
    "Zoe",
];

pub const PLACES: &[&str] = &[
    "Riverside",
    "Lakeside",
    "Oakwood",
    "Pinecrest",
    "Summit",
    "Northgate",
    "Harbor",
    "Meadowbrook",
    "Cedar Valley",
    "Westfield",
    "Brookside",
    "Maple Grove",
    "Highland",
    "Sunrise",
    "Bayview",
    "Stonebridge",
    "Willow Creek",
    "Eastgate",
    "Parkview",
    "Hillcrest",
    "Silver Lake",
    "Foxhall",
    "Redwood",
    "Greenfield",
    "Ironwood",
    "Clearwater",
    "Elmstead",
    "Kingsbury",
    "Ashgrove",
    "Blue Ridge",
];

pub const TOWNS: &[&str] = &[
    "Springfield",
    "Fairview",
    "Georgetown",
    "Franklin",
    "Clinton",
    "Madison",
    "Salem",
    "Bristol",
    "Dover",
    "Ashland",
    "Milton",
    "Newport",
    "Oxford",
    "Burlington",
    "Manchester",
    "Chester",
    "Kingston",
    "Lexington",
    "Marion",
    "Dayton",
    "Greenville",
    "Auburn",
    "Hudson",
    "Jackson",
    "Lancaster",
    "Plymouth",
    "Richmond",
    "Windsor",
    "Camden",
    "Easton",
];

const SAINTS: &[&str] = &[
    "Mark",
    "John",
    "Paul",
    "Peter",
    "Andrew",
    "Luke",
    "Michael",
    "Mary",
    "Anne",
    "Joseph",
    "Francis",
    "Thomas",
    "Stephen",
    "Catherine",
];

const LOCATION_TAGS: &[&str] = &[
    " - Main Office",
    " - Warehouse",
    " - Branch 2",
    " HQ",
    " - Satellite Office",
    " - Clinic 2",
    " - Annex",
];

/// A realistic MSP client name, optionally with a location tag. Returns `(name, base_name)`:
/// the base name is the name without the location tag (sites of one client share it).
pub fn client_name(rng: &mut Rng) -> (String, String) {
    let s1 = *rng.pick(SURNAMES);
    let s2 = *rng.pick(SURNAMES);
    let s3 = *rng.pick(SURNAMES);
    let first = *rng.pick(FIRST_NAMES);
    let place = *rng.pick(PLACES);
    let town = *rng.pick(TOWNS);
    let base = match rng.below(40) {
        0 => format!("{s1} Dental"),
        1 => format!("{place} Family Dentistry"),
        2 => format!("{s1} Orthodontics"),
        3 => format!("{s1} Law"),
        4 => format!("{s1} & {s2} LLP"),
        5 => format!("{s1}, {s2} & {s3}"),
        6 => format!("Law Offices of {first} {s1}"),
        7 => format!("{s1} Legal Group"),
        8 => format!("{place} Community Church"),
        9 => format!("St. {}'s Church", rng.pick(SAINTS)),
        10 => format!("First Baptist Church of {town}"),
        11 => format!("{town} United Methodist Church"),
        12 => format!("{s1} & Associates CPAs"),
        13 => format!("{s1} Accounting"),
        14 => format!("{s1} Tax & Accounting"),
        15 => format!("{place} Family Medicine"),
        16 => format!("{s1} Chiropractic"),
        17 => format!("{town} Veterinary Clinic"),
        18 => format!("{place} Pediatrics"),
        19 => format!("{s1} Construction"),
        20 => format!("{s1} Plumbing & Heating"),
        21 => format!("{s1} Electric"),
        22 => format!("{s1} Roofing"),
        23 => format!("{s1} Realty"),
        24 => format!("{s1} Insurance Agency"),
        25 => format!("{place} Animal Hospital"),
        26 => format!("{town} Public Library"),
        27 => format!("{town} School District"),
        28 => format!("{s1} Manufacturing"),
        29 => format!("{place} Logistics"),
        30 => format!("{s1} {s2} Architects"),
        31 => format!("{place} Credit Union"),
        32 => format!("{s1} Auto Group"),
        33 => format!("{town} Chamber of Commerce"),
        34 => format!("{place} Property Management"),
        35 => format!("{first} {s1} Photography"),
        36 => format!("{s1} Farms"),
        37 => format!("{s1} Engineering"),
        38 => format!("{place} Dental"),
        _ => format!("{s1} Financial Advisors"),
    };
    let name = match rng.below(100) {
        0..=7 => format!("{base}{}", rng.pick(LOCATION_TAGS)),
        8..=13 if !base.contains(town) => format!("{base} - {town}"),
        14..=15 if !base.contains(town) => format!("{base} ({town})"),
        _ => base.clone(),
    };
    (name, base)
}

/// The Autotask company name an MSP would have typed for a client: usually the same, sometimes
/// with a legal suffix or "and" instead of "&" (useful for fuzzy matching tests).
pub fn company_name_variant(rng: &mut Rng, base: &str) -> String {
    match rng.below(20) {
        0..=9 => base.to_string(),
        10..=12 => format!("{base}, Inc."),
        13..=14 => format!("{base} LLC"),
        15 => format!("{base} Ltd"),
        16..=17 => base.replace(" & ", " and "),
        18 => base.to_uppercase(),
        _ => format!("The {base}"),
    }
}

/// Up to 4 uppercase initials of a name ("Harper Dental - Main Office" -> "HD").
pub fn abbreviation(name: &str) -> String {
    let base = name.split(" - ").next().unwrap_or(name);
    let mut abbr: String = base
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty() && !matches!(*w, "of" | "and" | "the" | "The"))
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .take(4)
        .collect();
    if abbr.len() < 2 {
        abbr = base
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(3)
            .collect::<String>()
            .to_uppercase();
    }
    if abbr.is_empty() { "SITE".to_string() } else { abbr }
}

/// The kinds of device the generator produces; each maps to a Datto `deviceType`/`deviceClass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Desktop,
    Laptop,
    Server,
    Esxi,
    Printer,
    Network,
    Other,
}

pub const KIND_WEIGHTS: &[(Kind, u32)] = &[
    (Kind::Desktop, 430),
    (Kind::Laptop, 300),
    (Kind::Server, 80),
    (Kind::Esxi, 12),
    (Kind::Printer, 70),
    (Kind::Network, 90),
    (Kind::Other, 10),
];

/// Windows hostnames: the setup default, a naming convention, a role name or a person.
pub fn hostname(rng: &mut Rng, kind: Kind, abbr: &str, domain: &str, mac_os: bool) -> String {
    let first = *rng.pick(FIRST_NAMES);
    match kind {
        Kind::Desktop if mac_os => format!("{first}s-iMac"),
        Kind::Laptop if mac_os => format!("{first}s-MacBook-Pro"),
        Kind::Desktop => match rng.below(20) {
            0..=6 => format!("DESKTOP-{}", rng.chars(UPPER_ALNUM, 7)),
            7..=13 => format!("{abbr}-WS{:02}", rng.range(1, 60)),
            14..=16 => format!(
                "{}{}",
                rng.pick(&["FRONTDESK", "RECEPTION", "OFFICE", "ADMIN", "LAB", "EXAM"]),
                rng.range(1, 9)
            ),
            _ => format!("{}-PC", first.to_uppercase()),
        },
        Kind::Laptop => match rng.below(20) {
            0..=6 => format!("LAPTOP-{}", rng.chars(UPPER_ALNUM, 7)),
            7..=13 => format!("{abbr}-LT{:02}", rng.range(1, 60)),
            14..=16 => format!("{}-LAPTOP", first.to_uppercase()),
            _ => format!("{abbr}-{}", rng.pick(SURNAMES).to_uppercase().replace('\'', "")),
        },
        Kind::Server => match rng.below(12) {
            0 => "SERVER".to_string(),
            1 => format!("SERVER{}", rng.pick(&["2016", "2019", "2022"])),
            2 => format!("{}-lnx{:02}", abbr.to_lowercase(), rng.range(1, 4)),
            n => format!(
                "{abbr}-{}{:02}",
                ["DC", "FS", "SQL", "RDS", "APP", "HV", "DC", "FS", "BKP", "PRT"][(n - 3) as usize],
                rng.range(1, 3)
            ),
        },
        Kind::Esxi => match rng.below(2) {
            0 => format!("esxi{:02}.{domain}", rng.range(1, 4)),
            _ => format!("{}-esx{:02}", abbr.to_lowercase(), rng.range(1, 4)),
        },
        Kind::Printer => match rng.below(5) {
            0 => format!("NPI{}", rng.chars(HEX_UPPER, 6)),
            1 => format!("HP{}", rng.chars(HEX_UPPER, 12)),
            2 => format!("BRN{}", rng.chars(HEX_UPPER, 12)),
            3 => format!("KM{}", rng.chars(HEX_UPPER, 6)),
            _ => format!(
                "{abbr}-PRN-{}",
                rng.pick(&["OFFICE", "FRONT", "BACK", "MAIN", "UPSTAIRS", "COPIER"])
            ),
        },
        Kind::Network => network_hostname(rng, abbr, "Switch"),
        Kind::Other => match rng.below(3) {
            0 => format!("iPad-{first}"),
            1 => format!("{abbr}-CAM{:02}", rng.range(1, 12)),
            _ => format!("unknown-{}", rng.chars(HEX_UPPER, 6).to_lowercase()),
        },
    }
}

/// `(manufacturer, models)` per vendor and serial-number style.
#[derive(Clone, Copy)]
pub struct Vendor {
    pub manufacturer: &'static str,
    pub models: &'static [&'static str],
    pub serial: SerialStyle,
}

#[derive(Clone, Copy)]
pub enum SerialStyle {
    /// Dell service tag, 7 characters.
    DellTag,
    /// HP, 10 characters starting "CZC"/"5CG".
    Hp,
    /// Lenovo, 8 characters "PF"/"MJ".
    Lenovo,
    /// Apple, 12 characters.
    Apple,
    /// VMware virtual machine BIOS serial "VMware-42 1a ...".
    Vmware,
    /// Hyper-V virtual machine serial "0000-0012-...".
    HyperV,
    /// Generic 10-12 character alnum.
    Generic,
}

pub const DESKTOP_VENDORS: &[(Vendor, u32)] = &[
    (
        Vendor {
            manufacturer: "Dell Inc.",
            models: &[
                "OptiPlex 7090",
                "OptiPlex 7010",
                "OptiPlex 3080",
                "Precision 3660",
                "Vostro 3910",
            ],
            serial: SerialStyle::DellTag,
        },
        40,
    ),
    (
        Vendor {
            manufacturer: "HP",
            models: &[
                "HP EliteDesk 800 G6 Small Form Factor PC",
                "HP ProDesk 400 G7 Microtower PC",
                "HP Z2 Tower G9 Workstation",
            ],
            serial: SerialStyle::Hp,
        },
        30,
    ),
    (
        Vendor {
            manufacturer: "LENOVO",
            models: &["11DT0034US", "ThinkCentre M70q", "ThinkCentre M920s"],
            serial: SerialStyle::Lenovo,
        },
        20,
    ),
    (
        Vendor {
            manufacturer: "ASUS",
            models: &["ExpertCenter D500SA"],
            serial: SerialStyle::Generic,
        },
        3,
    ),
    (
        Vendor {
            manufacturer: "To Be Filled By O.E.M.",
            models: &["To Be Filled By O.E.M."],
            serial: SerialStyle::Generic,
        },
        2,
    ),
];

pub const LAPTOP_VENDORS: &[(Vendor, u32)] = &[
    (
        Vendor {
            manufacturer: "Dell Inc.",
            models: &[
                "Latitude 5420",
                "Latitude 5440",
                "Latitude 7430",
                "XPS 13 9310",
                "Precision 5570",
            ],
            serial: SerialStyle::DellTag,
        },
        38,
    ),
    (
        Vendor {
            manufacturer: "HP",
            models: &[
                "HP EliteBook 840 G8 Notebook PC",
                "HP ProBook 450 G9 Notebook PC",
                "HP EliteBook 860 16 inch G10",
            ],
            serial: SerialStyle::Hp,
        },
        30,
    ),
    (
        Vendor {
            manufacturer: "LENOVO",
            models: &[
                "20XW0026US",
                "ThinkPad T14 Gen 3",
                "ThinkPad X1 Carbon Gen 10",
                "21AH00BUUS",
            ],
            serial: SerialStyle::Lenovo,
        },
        25,
    ),
    (
        Vendor {
            manufacturer: "Microsoft Corporation",
            models: &["Surface Laptop 5", "Surface Pro 9"],
            serial: SerialStyle::Generic,
        },
        7,
    ),
];

pub const APPLE_DESKTOP: Vendor = Vendor {
    manufacturer: "Apple Inc.",
    models: &["iMac21,1", "Macmini9,1", "Mac13,1"],
    serial: SerialStyle::Apple,
};
pub const APPLE_LAPTOP: Vendor = Vendor {
    manufacturer: "Apple Inc.",
    models: &["MacBookPro18,3", "MacBookAir10,1", "Mac14,2"],
    serial: SerialStyle::Apple,
};

pub const SERVER_VENDORS: &[(Vendor, u32)] = &[
    (
        Vendor {
            manufacturer: "Dell Inc.",
            models: &["PowerEdge R650", "PowerEdge T350", "PowerEdge R740", "PowerEdge T440"],
            serial: SerialStyle::DellTag,
        },
        30,
    ),
    (
        Vendor {
            manufacturer: "HPE",
            models: &[
                "ProLiant DL380 Gen10",
                "ProLiant ML350 Gen10",
                "ProLiant DL360 Gen10 Plus",
            ],
            serial: SerialStyle::Generic,
        },
        20,
    ),
    (
        Vendor {
            manufacturer: "VMware, Inc.",
            models: &["VMware7,1", "VMware Virtual Platform"],
            serial: SerialStyle::Vmware,
        },
        30,
    ),
    (
        Vendor {
            manufacturer: "Microsoft Corporation",
            models: &["Virtual Machine"],
            serial: SerialStyle::HyperV,
        },
        15,
    ),
    (
        Vendor {
            manufacturer: "LENOVO",
            models: &["ThinkSystem ST250"],
            serial: SerialStyle::Lenovo,
        },
        5,
    ),
];

pub const ESXI_VENDORS: &[(Vendor, u32)] = &[
    (
        Vendor {
            manufacturer: "Dell Inc.",
            models: &["PowerEdge R650", "PowerEdge R750", "PowerEdge R740xd"],
            serial: SerialStyle::DellTag,
        },
        50,
    ),
    (
        Vendor {
            manufacturer: "HPE",
            models: &["ProLiant DL380 Gen10", "ProLiant DL360 Gen10"],
            serial: SerialStyle::Generic,
        },
        40,
    ),
    (
        Vendor {
            manufacturer: "Supermicro",
            models: &["SYS-1029P-WTR"],
            serial: SerialStyle::Generic,
        },
        10,
    ),
];

pub const PRINTER_VENDORS: &[(Vendor, u32)] = &[
    (
        Vendor {
            manufacturer: "HP",
            models: &[
                "HP LaserJet Pro M404dn",
                "HP Color LaserJet Pro MFP M479fdw",
                "HP LaserJet Enterprise M507",
            ],
            serial: SerialStyle::Hp,
        },
        40,
    ),
    (
        Vendor {
            manufacturer: "Brother",
            models: &["Brother HL-L6200DW series", "Brother MFC-L8900CDW series"],
            serial: SerialStyle::Generic,
        },
        25,
    ),
    (
        Vendor {
            manufacturer: "KYOCERA",
            models: &["ECOSYS M3655idn", "TASKalfa 3553ci"],
            serial: SerialStyle::Generic,
        },
        15,
    ),
    (
        Vendor {
            manufacturer: "Xerox",
            models: &["Xerox VersaLink C405", "Xerox AltaLink C8130"],
            serial: SerialStyle::Generic,
        },
        10,
    ),
    (
        Vendor {
            manufacturer: "Canon",
            models: &["Canon iR-ADV C5535"],
            serial: SerialStyle::Generic,
        },
        10,
    ),
];

/// `((type, manufacturer, model), weight)` of SNMP-discovered network devices.
pub const NETWORK_MODELS: &[((&str, &str, &str), u32)] = &[
    (("Switch", "Cisco", "C9200L-24P-4G"), 10),
    (("Switch", "Ubiquiti", "USW-24-PoE"), 10),
    (("Switch", "Cisco Meraki", "MS120-24P"), 6),
    (("Switch", "HPE Aruba", "2930F-24G"), 5),
    (("Firewall", "Fortinet", "FortiGate-60F"), 10),
    (("Firewall", "SonicWall", "TZ370"), 8),
    (("Firewall", "Cisco Meraki", "MX68"), 5),
    (("Router", "Cisco", "ISR4331"), 4),
    (("Router", "Ubiquiti", "UDM-Pro"), 4),
    (("Access Point", "Ubiquiti", "U6-Pro"), 8),
    (("Access Point", "Cisco Meraki", "MR46"), 5),
];

/// Hostname of a network device of Datto type `ty` (Switch, Firewall, Router, Access Point).
pub fn network_hostname(rng: &mut Rng, abbr: &str, ty: &str) -> String {
    match ty {
        "Firewall" => format!("{abbr}-FW{:02}", rng.range(1, 2)),
        "Router" => format!("{abbr}-RTR01"),
        "Access Point" => {
            format!(
                "AP-{}",
                rng.pick(&["Lobby", "Office", "Warehouse", "Conf", "Upstairs", "Break-Room"])
            )
        }
        _ => match rng.below(3) {
            0 => format!("USW-24-POE-{}", rng.chars(HEX_UPPER, 4)),
            1 => format!("{abbr}-CORE-SW"),
            _ => format!("{abbr}-SW{:02}", rng.range(1, 6)),
        },
    }
}

pub const OTHER_VENDORS: &[(Vendor, u32)] = &[
    (
        Vendor {
            manufacturer: "Apple Inc.",
            models: &["iPad (9th generation)"],
            serial: SerialStyle::Apple,
        },
        1,
    ),
    (
        Vendor {
            manufacturer: "Axis",
            models: &["M3106-L Mk II"],
            serial: SerialStyle::Generic,
        },
        1,
    ),
];

pub fn serial_number(rng: &mut Rng, style: SerialStyle) -> String {
    match style {
        SerialStyle::DellTag => rng.chars(UPPER_ALNUM, 7),
        SerialStyle::Hp => format!(
            "{}{}",
            rng.pick(&["CZC", "5CG", "MXL", "VNB"]),
            rng.chars(UPPER_ALNUM, 7)
        ),
        SerialStyle::Lenovo => format!("{}{}", rng.pick(&["PF", "MJ", "PC", "R9"]), rng.chars(UPPER_ALNUM, 6)),
        SerialStyle::Apple => format!("C02{}", rng.chars(UPPER_ALNUM, 9)),
        SerialStyle::Vmware => {
            let bytes: Vec<String> = (0..16).map(|_| format!("{:02x}", rng.below(256))).collect();
            format!("VMware-{}-{}", bytes[..8].join(" "), bytes[8..].join(" "))
        }
        SerialStyle::HyperV => format!(
            "{:04}-{:04}-{:04}-{:04}-{:04}-{:04}-{:02}",
            rng.below(10_000),
            rng.below(10_000),
            rng.below(10_000),
            rng.below(10_000),
            rng.below(10_000),
            rng.below(10_000),
            rng.below(100)
        ),
        SerialStyle::Generic => {
            let len = 10 + rng.index(3);
            rng.chars(UPPER_ALNUM, len)
        }
    }
}

/// Junk serials that real BIOSes report (the matcher must not trust them).
pub const JUNK_SERIALS: &[&str] = &[
    "To Be Filled By O.E.M.",
    "System Serial Number",
    "Default string",
    "0",
    "0123456789",
];

pub const WINDOWS_WORKSTATION_OS: &[(&str, u32)] = &[
    ("Microsoft Windows 11 Pro 10.0.22631", 30),
    ("Microsoft Windows 11 Pro 10.0.26100", 20),
    ("Microsoft Windows 10 Pro 10.0.19045", 35),
    ("Microsoft Windows 11 Enterprise 10.0.22631", 5),
    ("Microsoft Windows 10 Enterprise 10.0.19044", 4),
    ("Microsoft Windows 11 Home 10.0.22621", 3),
    ("Microsoft Windows 10 Pro 10.0.17763", 2),
    ("Microsoft Windows 7 Professional  6.1.7601", 1),
];

pub const MAC_OS: &[(&str, u32)] = &[
    ("macOS Sonoma (14.6.1)", 40),
    ("macOS Sequoia (15.1)", 35),
    ("macOS Ventura (13.6.9)", 25),
];

pub const SERVER_OS: &[(&str, u32)] = &[
    ("Microsoft Windows Server 2022 Standard 10.0.20348", 35),
    ("Microsoft Windows Server 2019 Standard 10.0.17763", 35),
    ("Microsoft Windows Server 2016 Standard 10.0.14393", 15),
    ("Microsoft Windows Server 2012 R2 Standard 6.3.9600", 5),
    ("Ubuntu 22.04.4 LTS", 7),
    ("Red Hat Enterprise Linux 9.4 (Plow)", 3),
];

pub const ESXI_OS: &[(&str, u32)] = &[
    ("VMware ESXi 7.0.3 build-21930508", 50),
    ("VMware ESXi 8.0.2 build-22380479", 40),
    ("VMware ESXi 6.7.0 build-17700523", 10),
];

pub const ANTIVIRUS: &[(Option<&str>, u32)] = &[
    (Some("Windows Defender"), 35),
    (Some("Datto EDR"), 15),
    (Some("Datto AV"), 15),
    (Some("Sophos Intercept X"), 10),
    (Some("Webroot SecureAnywhere"), 10),
    (Some("SentinelOne"), 8),
    (None, 7),
];

pub const AV_STATUS: &[(&str, u32)] = &[
    ("RunningAndUpToDate", 85),
    ("RunningAndNotUpToDate", 8),
    ("NotRunning", 4),
    ("NotDetected", 3),
];

pub const PATCH_STATUS: &[(&str, u32)] = &[
    ("FullyPatched", 55),
    ("ApprovedPending", 20),
    ("RebootRequired", 8),
    ("InstallError", 4),
    ("NoPolicy", 8),
    ("NoData", 5),
];

pub const DEVICE_DESCRIPTIONS: &[&str] = &[
    "Reception PC",
    "Front desk",
    "Conference room",
    "DattoState workstation",
    "Owner's laptop",
    "Replaced under warranty",
    "Do not reboot during business hours",
    "Loaner",
];

pub const SITE_DESCRIPTIONS: &[&str] = &[
    "Managed services - full",
    "Break/fix client",
    "Backup only",
    "Onboarded via partner",
    "Co-managed with internal IT",
    "Legacy contract",
];
