//! Pages: minijinja templates (embedded at build time, HTML auto-escaped), with two helpers
//! every template uses: `t("key", arg=value)` (the request's language, from the context's
//! `lang`) and the `local` filter (Unix seconds shown in the site's time zone, the context's
//! `zone`, a POSIX TZ rule evaluated by `porter_protocol::TimeZone` as the doors do).

use std::sync::Arc;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error as TemplateError, ErrorKind, State};
use porter_protocol::{Time, TimeZone};

use super::i18n::Catalog;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("message.html", include_str!("../../templates/message.html")),
    ("pager.html", include_str!("../../templates/pager.html")),
    ("sign_in.html", include_str!("../../templates/sign_in.html")),
    ("invitation.html", include_str!("../../templates/invitation.html")),
    ("manager/dashboard.html", include_str!("../../templates/manager/dashboard.html")),
    ("manager/carriers.html", include_str!("../../templates/manager/carriers.html")),
    ("manager/deliveries.html", include_str!("../../templates/manager/deliveries.html")),
    ("manager/log.html", include_str!("../../templates/manager/log.html")),
    ("manager/residents.html", include_str!("../../templates/manager/residents.html")),
    ("manager/tokens.html", include_str!("../../templates/manager/tokens.html")),
    ("manager/revocations.html", include_str!("../../templates/manager/revocations.html")),
    ("resident/home.html", include_str!("../../templates/resident/home.html")),
    ("resident/entries.html", include_str!("../../templates/resident/entries.html")),
    ("resident/settings.html", include_str!("../../templates/resident/settings.html")),
];

/// The template environment.
#[derive(Clone)]
pub struct Pages {
    env: Arc<Environment<'static>>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages")
    }
}

impl Pages {
    /// Compiles every template; an error is a bug in a template, reported with its name.
    pub fn load(catalog: Arc<Catalog>) -> Result<Pages, String> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source).map_err(|e| format!("template {name}: {e}"))?;
        }
        env.add_function("t", move |state: &State<'_, '_>, key: &str, kwargs: Kwargs| {
            let lang = state.lookup("lang").map(|v| v.to_string()).unwrap_or_default();
            let mut args = Vec::new();
            for name in kwargs.args() {
                let value: Value = kwargs.get(name)?;
                args.push((name, value.to_string()));
            }
            Ok::<_, TemplateError>(catalog.text(&lang, key, &args))
        });
        env.add_filter("local", |state: &State<'_, '_>, unix: Value| {
            let zone = state.lookup("zone").map(|v| v.to_string()).unwrap_or_default();
            let unix = i64::try_from(unix).map_err(|_| {
                TemplateError::new(ErrorKind::InvalidOperation, "local takes Unix seconds")
            })?;
            Ok::<_, TemplateError>(local_time(&zone, unix))
        });
        Ok(Pages { env: Arc::new(env) })
    }

    /// Renders `name` with `context`.
    pub fn render(&self, name: &str, context: Value) -> Result<String, String> {
        let template = self.env.get_template(name).map_err(|e| format!("{name}: {e}"))?;
        template.render(context).map_err(|e| format!("{name}: {e:#}"))
    }
}

/// `YYYY-MM-DD HH:MM` at the site for a Unix time, under a POSIX TZ rule (UTC if the rule
/// does not parse; the server refuses such rules at site creation).
pub fn local_time(zone: &str, unix: i64) -> String {
    let zone = TimeZone::parse_posix(zone).unwrap_or(TimeZone::UTC);
    let local = i64::from(zone.local_seconds(Time(unix.clamp(0, i64::from(u32::MAX)) as u32)));
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let minute = local.rem_euclid(86_400) / 60;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", minute / 60, minute % 60)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::local_time;

    /// 2026-07-01 10:00 UTC is 12:00 in Paris (summer time), 2026-01-15 10:00 UTC is 11:00.
    #[test]
    fn times_are_shown_in_the_sites_zone_with_daylight_saving() {
        let paris = "CET-1CEST,M3.5.0,M10.5.0/3";
        assert_eq!(local_time(paris, 1_782_900_000), "2026-07-01 12:00");
        assert_eq!(local_time(paris, 1_768_471_200), "2026-01-15 11:00");
        assert_eq!(local_time("UTC0", 1_768_471_200), "2026-01-15 10:00");
        assert_eq!(local_time("EST5EDT,M3.2.0,M11.1.0", 1_782_900_000), "2026-07-01 06:00");
    }
}
