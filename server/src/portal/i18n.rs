//! The portal's languages: Fluent bundles for English and French, chosen from a `porter_lang`
//! cookie (the switch) or else the browser's `Accept-Language`.

use std::collections::HashMap;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// The languages the portal speaks, the first being the default.
pub const LANGUAGES: [&str; 2] = ["en", "fr"];

/// The cookie that holds the chosen language.
pub const LANG_COOKIE: &str = "porter_lang";

const SOURCES: [(&str, &str); 2] =
    [("en", include_str!("../../locales/en.ftl")), ("fr", include_str!("../../locales/fr.ftl"))];

/// Every language's messages.
pub struct Catalog {
    bundles: HashMap<&'static str, FluentBundle<FluentResource>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").field("languages", &LANGUAGES).finish()
    }
}

impl Catalog {
    /// Loads the bundled translations; a syntax error in one is a build bug, reported here.
    pub fn load() -> Result<Catalog, String> {
        let mut bundles = HashMap::new();
        for (lang, source) in SOURCES {
            let resource = FluentResource::try_new(source.to_string())
                .map_err(|(_, e)| format!("locales/{lang}.ftl does not parse: {e:?}"))?;
            let id: LanguageIdentifier =
                lang.parse().map_err(|e| format!("bad language tag {lang}: {e}"))?;
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // No Unicode isolation marks around arguments: they would end up in attribute
            // values and CSV cells.
            bundle.set_use_isolating(false);
            bundle
                .add_resource(resource)
                .map_err(|e| format!("locales/{lang}.ftl has duplicate messages: {e:?}"))?;
            bundles.insert(lang, bundle);
        }
        Ok(Catalog { bundles })
    }

    /// The message `key` in `lang` (falling back to English, then to the key itself, so a
    /// missing translation shows, rather than breaking the page).
    pub fn text(&self, lang: &str, key: &str, args: &[(&str, String)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (k, v) in args {
            fluent_args.set(*k, FluentValue::from(v.clone()));
        }
        for lang in [lang, LANGUAGES[0]] {
            let Some(bundle) = self.bundles.get(lang) else { continue };
            let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else { continue };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
            return text.into_owned();
        }
        key.to_string()
    }

    /// Whether `key` exists in `lang` (the tests check both languages have every message).
    pub fn has(&self, lang: &str, key: &str) -> bool {
        self.bundles.get(lang).is_some_and(|b| b.has_message(key))
    }
}

/// The language for a request: the cookie's if it names a language we speak, else the first
/// of the browser's languages (by quality) that we speak, else English.
pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> &'static str {
    if let Some(lang) = cookie.and_then(supported) {
        return lang;
    }
    let mut ranked: Vec<(f32, &'static str)> = accept_language
        .unwrap_or("")
        .split(',')
        .filter_map(|item| {
            let mut parts = item.trim().split(';');
            let tag = parts.next()?.trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((q, supported(tag)?)).filter(|(q, _)| *q > 0.0)
        })
        .collect();
    // A stable sort keeps the browser's order between equal qualities.
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.first().map(|(_, l)| *l).unwrap_or(LANGUAGES[0])
}

/// The language we speak for a tag such as `fr-CA` or `en`.
fn supported(tag: &str) -> Option<&'static str> {
    let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
    LANGUAGES.into_iter().find(|l| *l == primary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_wins_then_the_browsers_best_language() {
        assert_eq!(negotiate(Some("fr"), Some("en-GB,en;q=0.9")), "fr");
        assert_eq!(negotiate(Some("de"), Some("de-DE,fr;q=0.8,en;q=0.5")), "fr");
        assert_eq!(negotiate(None, Some("en;q=0.4, fr-CA;q=0.9")), "fr");
        assert_eq!(negotiate(None, Some("fr;q=0, en")), "en");
        assert_eq!(negotiate(None, Some("de, es")), "en");
        assert_eq!(negotiate(None, None), "en");
    }

    /// Every English message has a French translation and the other way round.
    #[test]
    fn both_languages_have_every_message() {
        let catalog = Catalog::load().unwrap();
        let keys = |src: &str| -> Vec<String> {
            src.lines()
                .filter(|l| !l.starts_with([' ', '#', '\t']) && l.contains(" ="))
                .map(|l| l.split(" =").next().unwrap_or("").trim().to_string())
                .collect()
        };
        for (lang, src) in SOURCES {
            for key in keys(src) {
                for other in LANGUAGES {
                    assert!(
                        catalog.has(other, &key),
                        "{key} from {lang}.ftl is missing in {other}"
                    );
                }
            }
        }
        assert_eq!(catalog.text("fr", "nav-sign-out", &[]), "Se déconnecter");
    }
}
