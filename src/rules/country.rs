//! ISO 3166-1 alpha-2 country codes: which are assigned, what common
//! mistakes mean (docs/diagnostics.md).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The officially assigned ISO 3166-1 alpha-2 codes with their alpha-3
/// codes (249 entries), plus `XK` (Kosovo, user-assigned but used by GeoIP
/// providers; alpha-3 `XKX`).
const ASSIGNED: &[(&str, &str)] = &[
    ("AD", "AND"),
    ("AE", "ARE"),
    ("AF", "AFG"),
    ("AG", "ATG"),
    ("AI", "AIA"),
    ("AL", "ALB"),
    ("AM", "ARM"),
    ("AO", "AGO"),
    ("AQ", "ATA"),
    ("AR", "ARG"),
    ("AS", "ASM"),
    ("AT", "AUT"),
    ("AU", "AUS"),
    ("AW", "ABW"),
    ("AX", "ALA"),
    ("AZ", "AZE"),
    ("BA", "BIH"),
    ("BB", "BRB"),
    ("BD", "BGD"),
    ("BE", "BEL"),
    ("BF", "BFA"),
    ("BG", "BGR"),
    ("BH", "BHR"),
    ("BI", "BDI"),
    ("BJ", "BEN"),
    ("BL", "BLM"),
    ("BM", "BMU"),
    ("BN", "BRN"),
    ("BO", "BOL"),
    ("BQ", "BES"),
    ("BR", "BRA"),
    ("BS", "BHS"),
    ("BT", "BTN"),
    ("BV", "BVT"),
    ("BW", "BWA"),
    ("BY", "BLR"),
    ("BZ", "BLZ"),
    ("CA", "CAN"),
    ("CC", "CCK"),
    ("CD", "COD"),
    ("CF", "CAF"),
    ("CG", "COG"),
    ("CH", "CHE"),
    ("CI", "CIV"),
    ("CK", "COK"),
    ("CL", "CHL"),
    ("CM", "CMR"),
    ("CN", "CHN"),
    ("CO", "COL"),
    ("CR", "CRI"),
    ("CU", "CUB"),
    ("CV", "CPV"),
    ("CW", "CUW"),
    ("CX", "CXR"),
    ("CY", "CYP"),
    ("CZ", "CZE"),
    ("DE", "DEU"),
    ("DJ", "DJI"),
    ("DK", "DNK"),
    ("DM", "DMA"),
    ("DO", "DOM"),
    ("DZ", "DZA"),
    ("EC", "ECU"),
    ("EE", "EST"),
    ("EG", "EGY"),
    ("EH", "ESH"),
    ("ER", "ERI"),
    ("ES", "ESP"),
    ("ET", "ETH"),
    ("FI", "FIN"),
    ("FJ", "FJI"),
    ("FK", "FLK"),
    ("FM", "FSM"),
    ("FO", "FRO"),
    ("FR", "FRA"),
    ("GA", "GAB"),
    ("GB", "GBR"),
    ("GD", "GRD"),
    ("GE", "GEO"),
    ("GF", "GUF"),
    ("GG", "GGY"),
    ("GH", "GHA"),
    ("GI", "GIB"),
    ("GL", "GRL"),
    ("GM", "GMB"),
    ("GN", "GIN"),
    ("GP", "GLP"),
    ("GQ", "GNQ"),
    ("GR", "GRC"),
    ("GS", "SGS"),
    ("GT", "GTM"),
    ("GU", "GUM"),
    ("GW", "GNB"),
    ("GY", "GUY"),
    ("HK", "HKG"),
    ("HM", "HMD"),
    ("HN", "HND"),
    ("HR", "HRV"),
    ("HT", "HTI"),
    ("HU", "HUN"),
    ("ID", "IDN"),
    ("IE", "IRL"),
    ("IL", "ISR"),
    ("IM", "IMN"),
    ("IN", "IND"),
    ("IO", "IOT"),
    ("IQ", "IRQ"),
    ("IR", "IRN"),
    ("IS", "ISL"),
    ("IT", "ITA"),
    ("JE", "JEY"),
    ("JM", "JAM"),
    ("JO", "JOR"),
    ("JP", "JPN"),
    ("KE", "KEN"),
    ("KG", "KGZ"),
    ("KH", "KHM"),
    ("KI", "KIR"),
    ("KM", "COM"),
    ("KN", "KNA"),
    ("KP", "PRK"),
    ("KR", "KOR"),
    ("KW", "KWT"),
    ("KY", "CYM"),
    ("KZ", "KAZ"),
    ("LA", "LAO"),
    ("LB", "LBN"),
    ("LC", "LCA"),
    ("LI", "LIE"),
    ("LK", "LKA"),
    ("LR", "LBR"),
    ("LS", "LSO"),
    ("LT", "LTU"),
    ("LU", "LUX"),
    ("LV", "LVA"),
    ("LY", "LBY"),
    ("MA", "MAR"),
    ("MC", "MCO"),
    ("MD", "MDA"),
    ("ME", "MNE"),
    ("MF", "MAF"),
    ("MG", "MDG"),
    ("MH", "MHL"),
    ("MK", "MKD"),
    ("ML", "MLI"),
    ("MM", "MMR"),
    ("MN", "MNG"),
    ("MO", "MAC"),
    ("MP", "MNP"),
    ("MQ", "MTQ"),
    ("MR", "MRT"),
    ("MS", "MSR"),
    ("MT", "MLT"),
    ("MU", "MUS"),
    ("MV", "MDV"),
    ("MW", "MWI"),
    ("MX", "MEX"),
    ("MY", "MYS"),
    ("MZ", "MOZ"),
    ("NA", "NAM"),
    ("NC", "NCL"),
    ("NE", "NER"),
    ("NF", "NFK"),
    ("NG", "NGA"),
    ("NI", "NIC"),
    ("NL", "NLD"),
    ("NO", "NOR"),
    ("NP", "NPL"),
    ("NR", "NRU"),
    ("NU", "NIU"),
    ("NZ", "NZL"),
    ("OM", "OMN"),
    ("PA", "PAN"),
    ("PE", "PER"),
    ("PF", "PYF"),
    ("PG", "PNG"),
    ("PH", "PHL"),
    ("PK", "PAK"),
    ("PL", "POL"),
    ("PM", "SPM"),
    ("PN", "PCN"),
    ("PR", "PRI"),
    ("PS", "PSE"),
    ("PT", "PRT"),
    ("PW", "PLW"),
    ("PY", "PRY"),
    ("QA", "QAT"),
    ("RE", "REU"),
    ("RO", "ROU"),
    ("RS", "SRB"),
    ("RU", "RUS"),
    ("RW", "RWA"),
    ("SA", "SAU"),
    ("SB", "SLB"),
    ("SC", "SYC"),
    ("SD", "SDN"),
    ("SE", "SWE"),
    ("SG", "SGP"),
    ("SH", "SHN"),
    ("SI", "SVN"),
    ("SJ", "SJM"),
    ("SK", "SVK"),
    ("SL", "SLE"),
    ("SM", "SMR"),
    ("SN", "SEN"),
    ("SO", "SOM"),
    ("SR", "SUR"),
    ("SS", "SSD"),
    ("ST", "STP"),
    ("SV", "SLV"),
    ("SX", "SXM"),
    ("SY", "SYR"),
    ("SZ", "SWZ"),
    ("TC", "TCA"),
    ("TD", "TCD"),
    ("TF", "ATF"),
    ("TG", "TGO"),
    ("TH", "THA"),
    ("TJ", "TJK"),
    ("TK", "TKL"),
    ("TL", "TLS"),
    ("TM", "TKM"),
    ("TN", "TUN"),
    ("TO", "TON"),
    ("TR", "TUR"),
    ("TT", "TTO"),
    ("TV", "TUV"),
    ("TW", "TWN"),
    ("TZ", "TZA"),
    ("UA", "UKR"),
    ("UG", "UGA"),
    ("UM", "UMI"),
    ("US", "USA"),
    ("UY", "URY"),
    ("UZ", "UZB"),
    ("VA", "VAT"),
    ("VC", "VCT"),
    ("VE", "VEN"),
    ("VG", "VGB"),
    ("VI", "VIR"),
    ("VN", "VNM"),
    ("VU", "VUT"),
    ("WF", "WLF"),
    ("WS", "WSM"),
    ("XK", "XKX"),
    ("YE", "YEM"),
    ("YT", "MYT"),
    ("ZA", "ZAF"),
    ("ZM", "ZMB"),
    ("ZW", "ZWE"),
];

/// Codes that appear in the wild but are not countries for GeoIP purposes
/// (docs/diagnostics.md warnings), with what they are.
const PSEUDO: &[(&str, &str)] = &[
    ("EU", "a GeoIP pseudo-code for the European Union as a whole, not a country"),
    ("AP", "a legacy GeoIP pseudo-code for the Asia/Pacific region, not a country"),
    ("XX", "Cloudflare's code for an unknown country"),
    ("T1", "Cloudflare's code for Tor exit nodes, not a GeoIP country"),
    ("A1", "a legacy GeoIP code for anonymous proxies, not a country"),
    ("A2", "a legacy GeoIP code for satellite providers, not a country"),
    ("O1", "a legacy GeoIP code for 'other country', not a country"),
];

/// Two-letter codes people use for a country whose ISO code is another one.
const MISTAKES: &[(&str, &str)] = &[
    ("UK", "GB"), // United Kingdom: ISO 3166-1 is GB
    ("EL", "GR"), // Greece in EU usage
];

/// Whether `code` is an assigned ISO 3166-1 alpha-2 code (or `XK`).
#[inline]
pub fn is_assigned(code: CountryCode) -> bool {
    let i = code.index();
    ASSIGNED_BITS[i / 64] >> (i % 64) & 1 != 0
}

/// [`ASSIGNED`] as a bit per [`CountryCode::index`] (a lookup per viewer
/// line of `simulate --input`, which checks given countries).
static ASSIGNED_BITS: [u64; COUNTRY_CODE_COUNT.div_ceil(64)] = {
    let mut bits = [0u64; COUNTRY_CODE_COUNT.div_ceil(64)];
    let mut k = 0;
    while k < ASSIGNED.len() {
        let [a, b] = *ASSIGNED[k].0.as_bytes() else { panic!("a code is two letters") };
        let i = CountryCode::index_of([a, b]);
        bits[i / 64] |= 1 << (i % 64);
        k += 1;
    }
    bits
};

/// What a pseudo-code (`EU`, `AP`, `XX`, `T1`, `A1`, `A2`, `O1`) is, or
/// `None` for any other code.
pub fn pseudo_code(code: &str) -> Option<&'static str> {
    PSEUDO.iter().find(|(c, _)| *c == code).map(|(_, what)| *what)
}

/// The assigned code a user most likely meant by `written`: the upper-case
/// form (`us` → `US`), a well-known mistake (`UK` → `GB`), or the alpha-2 of
/// an alpha-3 code (`DEU` → `DE`, `usa` → `US`), or of a dotted form
/// (`U.S.` → `US`). `None` when there is no clear candidate.
pub fn suggestion(written: &str) -> Option<CountryCode> {
    let upper: String =
        written.trim().chars().filter(|c| *c != '.').collect::<String>().to_ascii_uppercase();
    if let Some((_, to)) = MISTAKES.iter().find(|(from, _)| *from == upper) {
        return CountryCode::new(to);
    }
    if upper.len() == 2 {
        return CountryCode::new(&upper)
            .filter(|c| is_assigned(*c) || pseudo_code(&upper).is_some());
    }
    if upper.len() == 3 {
        return ASSIGNED
            .iter()
            .find(|(_, a3)| *a3 == upper)
            .and_then(|(a2, _)| CountryCode::new(a2));
    }
    None
}

/// A viewer's country as given by a user (`--country`, a viewer line):
/// two letters in any case (`us` = `US`, the README), assigned or one of the
/// pseudo-codes that appear in logs (`XX`, `EU`, …).
///
/// # Errors
///
/// A message naming the value, with the likely code when there is one.
pub fn viewer_country(text: &str) -> Result<CountryCode, String> {
    let t = text.trim();
    let code = CountryCode::new_case_insensitive(t);
    match code {
        Some(c) if is_assigned(c) || pseudo_code(c.as_str()).is_some() => Ok(c),
        _ => {
            let shown: String = t.chars().take(16).collect();
            Err(match suggestion(t).filter(|s| Some(*s) != code) {
                Some(s) => format!(
                    "invalid country {shown:?}: not an ISO 3166-1 alpha-2 code (did you mean {s}?)"
                ),
                None => format!(
                    "invalid country {shown:?}: expected an ISO 3166-1 alpha-2 code such as US"
                ),
            })
        }
    }
}

/// Number of assigned codes known (for tests and docs).
pub fn assigned_count() -> usize {
    ASSIGNED.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(ASSIGNED.windows(2).all(|w| w[0].0 < w[1].0), "alpha-2 table must be sorted");
        let mut a3: Vec<_> = ASSIGNED.iter().map(|(_, a3)| *a3).collect();
        a3.sort_unstable();
        a3.dedup();
        assert_eq!(a3.len(), ASSIGNED.len());
        assert_eq!(assigned_count(), 250);
    }

    #[test]
    fn assigned_codes() {
        for i in 0..COUNTRY_CODE_COUNT {
            let code = CountryCode::from_index(i).unwrap();
            let listed = ASSIGNED.iter().any(|(a2, _)| *a2 == code.as_str());
            assert_eq!(is_assigned(code), listed, "{code:?}");
        }
        let c = |s| CountryCode::new(s).unwrap();
        assert!(is_assigned(c("US")));
        assert!(is_assigned(c("GB")));
        assert!(is_assigned(c("XK")));
        assert!(!is_assigned(c("UK")));
        assert!(!is_assigned(c("EU")));
        assert!(!is_assigned(c("ZZ")));
    }

    #[test]
    fn viewer_countries() {
        assert_eq!(viewer_country("us").unwrap().as_str(), "US");
        assert_eq!(viewer_country(" gb ").unwrap().as_str(), "GB");
        assert_eq!(viewer_country("XX").unwrap().as_str(), "XX");
        assert!(viewer_country("uk").unwrap_err().contains("did you mean GB"));
        assert!(viewer_country("QQ").is_err());
        assert!(viewer_country("USA").unwrap_err().contains("did you mean US"));
    }

    #[test]
    fn suggestions() {
        let s = |w| suggestion(w).map(|c| c.to_string());
        assert_eq!(s("us").as_deref(), Some("US"));
        assert_eq!(s("UK").as_deref(), Some("GB"));
        assert_eq!(s("USA").as_deref(), Some("US"));
        assert_eq!(s("DEU").as_deref(), Some("DE"));
        assert_eq!(s("U.S.").as_deref(), Some("US"));
        assert_eq!(s("gb").as_deref(), Some("GB"));
        assert_eq!(s("QQ"), None);
        assert_eq!(s("Germany"), None);
    }
}

/// An ISO 3166-1 alpha-2 country code: two upper-case ASCII letters.
///
/// Construction checks the shape only (`[A-Z]{2}`); whether the code is
/// assigned is the validator's business ([`crate::rules::country::is_assigned`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// The code from an upper-case ASCII letter and an upper-case letter or
    /// digit (`US`; the digit admits the pseudo-codes `T1`, `A1`, `A2`,
    /// `O1` that appear in the wild); `None` for anything else.
    pub fn new(code: &str) -> Option<CountryCode> {
        match code.as_bytes() {
            &[a, b] if a.is_ascii_uppercase() && (b.is_ascii_uppercase() || b.is_ascii_digit()) => {
                Some(CountryCode([a, b]))
            }
            _ => None,
        }
    }

    /// The code from two ASCII letters of either case (`us` → `US`), as a
    /// viewer's country is given on the command line (the README).
    pub fn new_case_insensitive(code: &str) -> Option<CountryCode> {
        CountryCode::new(&code.to_ascii_uppercase())
    }

    /// The two letters as bytes.
    #[inline]
    pub fn as_bytes(&self) -> [u8; 2] {
        self.0
    }

    /// The code as a `&str` (`"US"`).
    #[inline]
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII upper-case letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// A dense index in `0..COUNTRY_CODE_COUNT` for per-code tables: the
    /// letter times 36 plus the second character (`0`–`9` = 0–9, `A`–`Z` =
    /// 10–35); `A0` = 0, `ZZ` = 935.
    #[inline]
    pub fn index(&self) -> usize {
        Self::index_of(self.0)
    }

    /// [`CountryCode::index`] of a code's two bytes (checked upper-case
    /// letter, then upper-case letter or digit), usable in constants.
    pub(crate) const fn index_of([first, second]: [u8; 2]) -> usize {
        let second = match second {
            d @ b'0'..=b'9' => d - b'0',
            l => l - b'A' + 10,
        };
        (first - b'A') as usize * 36 + second as usize
    }

    /// The code at a dense index (the inverse of [`CountryCode::index`]);
    /// `None` when `index >= COUNTRY_CODE_COUNT`.
    #[inline]
    pub fn from_index(index: usize) -> Option<CountryCode> {
        (index < COUNTRY_CODE_COUNT).then(|| {
            let second = (index % 36) as u8;
            let second = if second < 10 { b'0' + second } else { b'A' + second - 10 };
            CountryCode([b'A' + (index / 36) as u8, second])
        })
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl FromStr for CountryCode {
    type Err = InvalidCountryCode;

    /// Strict: two upper-case letters.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CountryCode::new(s).ok_or_else(|| InvalidCountryCode(s.to_owned()))
    }
}

/// How many codes [`CountryCode`] can hold (26 letters × 36 letters and
/// digits), the size of per-code tables.
pub const COUNTRY_CODE_COUNT: usize = 26 * 36;

/// A string that is not two upper-case ASCII letters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a two-letter upper-case country code")]
pub struct InvalidCountryCode(pub String);
