//! Fake data: `{{fake 'name.firstName'}}`, and `{{random 'Name.firstName'}}` as WireMock's
//! faker extension writes it. Values come from the `fake` crate: its English locale, and
//! a Korean one of our own (`ko_kr.rs`). Keys are `category.item`, matched without regard
//! to case or underscores, so `Name.first_name` and `name.firstName` are one key.

use super::ko_kr::{self, KO_KR};
use fake::Fake;
use fake::faker::{
    address::raw as address, company::raw as company, internet::raw as internet, job::raw as job,
    lorem::raw as lorem, name::raw as name, phone_number::raw as phone,
};
use fake::locales::EN;
use rand::RngExt;
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;

/// A locale fake data is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    KoKr,
}

impl Locale {
    /// `en`, `en_US`, `ko`, `ko_KR` (and with `-`), in any case.
    pub fn parse(s: &str) -> Option<Locale> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "en" | "en_us" | "en_gb" => Some(Locale::En),
            "ko" | "ko_kr" => Some(Locale::KoKr),
            _ => None,
        }
    }
}

/// Every key, as the docs list them.
pub const KEYS: &[&str] = &[
    "name.firstName",
    "name.lastName",
    "name.fullName",
    "name.nameWithTitle",
    "internet.emailAddress",
    "internet.safeEmailAddress",
    "internet.username",
    "internet.password",
    "internet.ipV4Address",
    "internet.ipV6Address",
    "internet.userAgent",
    "internet.domainSuffix",
    "phoneNumber.phoneNumber",
    "phoneNumber.cellPhone",
    "address.city",
    "address.state",
    "address.country",
    "address.countryCode",
    "address.streetName",
    "address.streetAddress",
    "address.buildingNumber",
    "address.zipCode",
    "address.fullAddress",
    "address.latitude",
    "address.longitude",
    "address.timeZone",
    "company.name",
    "company.industry",
    "company.profession",
    "company.catchPhrase",
    "company.buzzword",
    "job.title",
    "job.field",
    "job.position",
    "lorem.word",
    "lorem.words",
    "lorem.sentence",
    "lorem.paragraph",
    "date.birthday",
    "date.past",
    "date.future",
];

/// Other spellings of a key (Datafaker's names): folded form → the key.
const ALIASES: &[(&str, &str)] = &[
    ("name.name", "name.fullName"),
    ("name.username", "internet.username"),
    ("internet.email", "internet.emailAddress"),
    ("internet.safeemail", "internet.safeEmailAddress"),
    ("internet.ipv4", "internet.ipV4Address"),
    ("internet.ipv6", "internet.ipV6Address"),
    ("phonenumber.cellphonenumber", "phoneNumber.cellPhone"),
    ("phone.number", "phoneNumber.phoneNumber"),
    ("phone.cellphone", "phoneNumber.cellPhone"),
    ("address.cityname", "address.city"),
    ("address.postcode", "address.zipCode"),
    ("address.postalcode", "address.zipCode"),
    ("company.companyname", "company.name"),
];

fn fold(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The key a spelling stands for, or `None` when there is no such fake value.
pub fn resolve(key: &str) -> Option<&'static str> {
    let f = fold(key);
    KEYS.iter()
        .copied()
        .find(|k| fold(k) == f)
        .or_else(|| ALIASES.iter().find(|(a, _)| *a == f).map(|(_, k)| *k))
}

/// One fake value for `key`, drawn from `rng`.
pub fn generate(key: &str, locale: Locale, rng: &mut SmallRng) -> Result<String, String> {
    let Some(k) = resolve(key) else {
        return Err(unknown(key));
    };
    Ok(match locale {
        Locale::En => english(k, rng),
        Locale::KoKr => korean(k, rng),
    })
}

pub(crate) fn unknown(key: &str) -> String {
    format!(
        "no fake value \"{key}\": use one of {} (docs/matching.md lists them)",
        KEYS.join(", ")
    )
}

fn english(k: &str, rng: &mut SmallRng) -> String {
    let l = EN;
    match k {
        "address.streetAddress" => format!(
            "{} {}",
            address::BuildingNumber(l).fake_with_rng::<String, _>(rng),
            address::StreetName(l).fake_with_rng::<String, _>(rng)
        ),
        "address.fullAddress" => format!(
            "{} {}, {}, {} {}",
            address::BuildingNumber(l).fake_with_rng::<String, _>(rng),
            address::StreetName(l).fake_with_rng::<String, _>(rng),
            address::CityName(l).fake_with_rng::<String, _>(rng),
            address::StateAbbr(l).fake_with_rng::<String, _>(rng),
            address::ZipCode(l).fake_with_rng::<String, _>(rng),
        ),
        "address.streetName" => address::StreetName(l).fake_with_rng(rng),
        "company.name" => company::CompanyName(l).fake_with_rng(rng),
        _ => common(k, l, rng),
    }
}

fn korean(k: &str, rng: &mut SmallRng) -> String {
    let l = KO_KR;
    let pick = |list: &[&'static str], rng: &mut SmallRng| -> &'static str {
        list.choose(rng).copied().unwrap_or_default()
    };
    match k {
        // Roads are not named after people in Korea: a road from the list, and a number.
        "address.streetName" => pick(ko_kr::ROADS, rng).to_string(),
        "address.streetAddress" => format!(
            "{} {} {}",
            pick(ko_kr::DISTRICTS, rng),
            pick(ko_kr::ROADS, rng),
            rng.random_range(1..400)
        ),
        // Province, city, district, road, number: the order a Korean address is written.
        "address.fullAddress" => {
            let (city, province) = ko_kr::CITIES.choose(rng).copied().unwrap_or_default();
            let head = if city == province {
                city.to_string()
            } else {
                format!("{province} {city}")
            };
            format!(
                "{head} {} {} {}",
                pick(ko_kr::DISTRICTS, rng),
                pick(ko_kr::ROADS, rng),
                rng.random_range(1..400)
            )
        }
        "company.name" => {
            let stem = pick(ko_kr::COMPANY_STEMS, rng);
            let kind = company::CompanySuffix(l).fake_with_rng::<String, _>(rng);
            match rng.random_range(0..3) {
                0 => format!("(주){stem}{kind}"),
                1 => format!("{stem}{kind} 주식회사"),
                _ => format!("{stem}{kind}"),
            }
        }
        // An address a mail server would take: the English user part, a Korean provider.
        "internet.emailAddress" => format!(
            "{}@{}",
            internet::Username(EN).fake_with_rng::<String, _>(rng),
            pick(l_providers(), rng)
        ),
        "internet.safeEmailAddress" => format!(
            "{}@example.kr",
            internet::Username(EN).fake_with_rng::<String, _>(rng)
        ),
        "internet.username" => internet::Username(EN).fake_with_rng(rng),
        _ => common(k, l, rng),
    }
}

fn l_providers() -> &'static [&'static str] {
    <KO_KR as fake::locales::Data>::INTERNET_FREE_EMAIL_PROVIDER
}

/// Keys built the same way in every locale, from the locale's own lists.
fn common<L>(k: &str, l: L, rng: &mut SmallRng) -> String
where
    L: fake::locales::Data + fake::faker::impls::address::CityNameGenFn + Copy,
{
    match k {
        "name.firstName" => name::FirstName(l).fake_with_rng(rng),
        "name.lastName" => name::LastName(l).fake_with_rng(rng),
        "name.fullName" => name::Name(l).fake_with_rng(rng),
        "name.nameWithTitle" => name::NameWithTitle(l).fake_with_rng(rng),
        "phoneNumber.phoneNumber" => phone::PhoneNumber(l).fake_with_rng(rng),
        "phoneNumber.cellPhone" => phone::CellNumber(l).fake_with_rng(rng),
        "address.city" => address::CityName(l).fake_with_rng(rng),
        "internet.emailAddress" => internet::FreeEmail(l).fake_with_rng(rng),
        "internet.safeEmailAddress" => internet::SafeEmail(l).fake_with_rng(rng),
        "internet.username" => internet::Username(l).fake_with_rng(rng),
        "internet.password" => internet::Password(l, 10..17).fake_with_rng(rng),
        "internet.ipV4Address" => internet::IPv4(l).fake_with_rng(rng),
        "internet.ipV6Address" => internet::IPv6(l).fake_with_rng(rng),
        "internet.userAgent" => internet::UserAgent(l).fake_with_rng(rng),
        "internet.domainSuffix" => internet::DomainSuffix(l).fake_with_rng(rng),
        "address.state" => address::StateName(l).fake_with_rng(rng),
        "address.country" => address::CountryName(l).fake_with_rng(rng),
        "address.countryCode" => address::CountryCode(l).fake_with_rng(rng),
        "address.buildingNumber" => address::BuildingNumber(l).fake_with_rng(rng),
        "address.zipCode" => address::ZipCode(l).fake_with_rng(rng),
        "address.latitude" => address::Latitude(l).fake_with_rng(rng),
        "address.longitude" => address::Longitude(l).fake_with_rng(rng),
        "address.timeZone" => address::TimeZone(l).fake_with_rng(rng),
        "company.industry" => company::Industry(l).fake_with_rng(rng),
        "company.profession" => company::Profession(l).fake_with_rng(rng),
        "company.catchPhrase" => company::CatchPhrase(l).fake_with_rng(rng),
        "company.buzzword" => company::Buzzword(l).fake_with_rng(rng),
        "job.title" => job::Title(l).fake_with_rng(rng),
        "job.field" => job::Field(l).fake_with_rng(rng),
        "job.position" => job::Position(l).fake_with_rng(rng),
        "lorem.word" => lorem::Word(l).fake_with_rng(rng),
        "lorem.words" => lorem::Words(l, 3..6)
            .fake_with_rng::<Vec<String>, _>(rng)
            .join(" "),
        "lorem.sentence" => lorem::Sentence(l, 4..10).fake_with_rng(rng),
        "lorem.paragraph" => lorem::Paragraph(l, 3..6).fake_with_rng(rng),
        "date.birthday" => days_from_today(rng.random_range(-65 * 365..-18 * 365)),
        "date.past" => days_from_today(rng.random_range(-365..0)),
        "date.future" => days_from_today(rng.random_range(1..366)),
        _ => String::new(),
    }
}

/// An ISO date this many days from today (UTC).
fn days_from_today(days: i32) -> String {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    today
        .checked_add(jiff::Span::new().days(days))
        .unwrap_or(today)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_key_has_a_value_in_every_locale() {
        let mut rng = SmallRng::seed_from_u64(7);
        for locale in [Locale::En, Locale::KoKr] {
            for k in KEYS {
                let v = generate(k, locale, &mut rng).unwrap();
                assert!(!v.is_empty(), "{k} in {locale:?} is empty");
            }
        }
    }

    #[test]
    fn korean_names_and_places_are_hangul() {
        let mut rng = SmallRng::seed_from_u64(1);
        let hangul = |s: &str| s.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c));
        for k in [
            "name.fullName",
            "address.city",
            "address.fullAddress",
            "company.name",
            "lorem.sentence",
        ] {
            let v = generate(k, Locale::KoKr, &mut rng).unwrap();
            assert!(hangul(&v), "{k}: {v}");
        }
        let phone = generate("phoneNumber.cellPhone", Locale::KoKr, &mut rng).unwrap();
        assert!(
            regex::Regex::new(r"^010-[1-9]\d{3}-\d{4}$")
                .unwrap()
                .is_match(&phone),
            "{phone}"
        );
        let email = generate("internet.emailAddress", Locale::KoKr, &mut rng).unwrap();
        assert!(email.is_ascii() && email.contains('@'), "{email}");
    }

    #[test]
    fn spellings_fold_to_one_key_and_unknown_keys_say_what_exists() {
        assert_eq!(resolve("Name.first_name"), Some("name.firstName"));
        assert_eq!(resolve("NAME.FIRSTNAME"), Some("name.firstName"));
        assert_eq!(resolve("Internet.email"), Some("internet.emailAddress"));
        assert_eq!(resolve("name.nickname"), None);
        let e = generate("name.nickname", Locale::En, &mut SmallRng::seed_from_u64(0)).unwrap_err();
        assert!(
            e.contains("name.nickname") && e.contains("name.firstName"),
            "{e}"
        );
        assert_eq!(Locale::parse("ko-KR"), Some(Locale::KoKr));
        assert_eq!(Locale::parse("fr"), None);
    }

    #[test]
    fn a_seed_repeats_its_values() {
        let draw = |seed| {
            let mut rng = SmallRng::seed_from_u64(seed);
            KEYS.iter()
                .map(|k| generate(k, Locale::KoKr, &mut rng).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42));
        assert_ne!(draw(42), draw(43));
    }
}
