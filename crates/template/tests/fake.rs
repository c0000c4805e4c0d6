//! Fake data in templates: keys and locales checked at save, values per locale, and a
//! route seed that makes the answer a function of the request.

use standin_template::{HandlebarsTemplate, Locale, TemplateOptions};

fn render(t: &HandlebarsTemplate, path: &str, body: &[u8]) -> String {
    let headers = http::HeaderMap::new();
    let req = standin_eval::Request::new("POST", path, None, &headers, body);
    t.render(&req, &[]).unwrap()
}

const PERSON: &str = r#"{"name": "{{fake 'name.fullName'}}", "email": "{{fake 'internet.emailAddress'}}", "phone": "{{random 'PhoneNumber.cellPhone'}}", "city": "{{fake 'address.city'}}", "id": "{{randomValue type='UUID'}}"}"#;

#[test]
fn a_korean_route_answers_in_hangul_and_an_english_helper_overrides_it() {
    let t = HandlebarsTemplate::compile(
        &format!("{PERSON} {{{{fake 'name.firstName' locale='en_US'}}}}"),
        "/body",
    )
    .unwrap()
    .with_options(TemplateOptions {
        seed: None,
        locale: Locale::KoKr,
    });
    let out = render(&t, "/people", b"");
    println!("{out}");
    let (json, english) = out.rsplit_once(' ').unwrap();
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let hangul = |s: &str| s.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c));
    assert!(hangul(v["name"].as_str().unwrap()), "{v}");
    assert!(hangul(v["city"].as_str().unwrap()), "{v}");
    assert!(v["phone"].as_str().unwrap().starts_with("010-"), "{v}");
    assert!(
        english
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '\''),
        "{english}"
    );
}

#[test]
fn a_seed_gives_the_same_request_the_same_answer_and_others_another() {
    let seeded = |seed| {
        HandlebarsTemplate::compile(PERSON, "/body")
            .unwrap()
            .with_options(TemplateOptions {
                seed: Some(seed),
                locale: Locale::En,
            })
    };
    let t = seeded(42);
    let first = render(&t, "/people/1", b"{}");
    assert_eq!(first, render(&t, "/people/1", b"{}"));
    assert_eq!(first, render(&seeded(42), "/people/1", b"{}"));
    assert_ne!(first, render(&t, "/people/2", b"{}"));
    assert_ne!(first, render(&t, "/people/1", b"{\"a\":1}"));
    assert_ne!(first, render(&seeded(43), "/people/1", b"{}"));
    // Without a seed, two renders differ.
    let plain = HandlebarsTemplate::compile(PERSON, "/body").unwrap();
    assert_ne!(render(&plain, "/p", b""), render(&plain, "/p", b""));
}

#[test]
fn an_unknown_key_or_locale_is_refused_at_save_with_its_line() {
    let e =
        HandlebarsTemplate::compile("ok\n{{fake 'name.nickname'}}", "/response/body").unwrap_err();
    assert_eq!(e.pointer, "/response/body");
    assert!(
        e.message
            .starts_with("line 2: no fake value \"name.nickname\""),
        "{}",
        e.message
    );
    let e =
        HandlebarsTemplate::compile("{{fake 'name.firstName' locale='xx'}}", "/body").unwrap_err();
    assert!(e.message.contains("no locale \"xx\""), "{}", e.message);
    // A key computed at render time fails that render, naming it.
    let t = HandlebarsTemplate::compile("{{fake request.query.k}}", "/body").unwrap();
    let headers = http::HeaderMap::new();
    let req = standin_eval::Request::new("GET", "/", Some("k=bogus.key"), &headers, b"");
    let err = t.render(&req, &[]).unwrap_err();
    assert!(err.message.contains("bogus.key"), "{err}");
}
