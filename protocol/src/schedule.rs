//! Deployment schedules (feature `cron`): a five-field POSIX cron expression in an IANA time
//! zone, with the API's rules (no seconds or year fields, no `L`, `W`, `#`, `?`, no `@daily`;
//! `0` and `7` are Sunday). The engine fires by it; the console previews coming fires with it.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::{
    Cron,
    parser::{CronParser, Seconds, Year},
};

use crate::deployments::ScheduleParams;

/// What a schedule is shown as an example of, in every refusal of an expression.
const EXAMPLE: &str = "e.g. \"0 9 * * 1-5\" for 9:00 on weekdays";

/// Why a schedule is refused, in words that say what to write instead (the API's 400, the
/// console's preview).
#[derive(Debug, thiserror::Error)]
pub enum ScheduleProblem {
    #[error(
        "schedule.expression {expression:?} must have five fields (minute hour day-of-month month day-of-week), {EXAMPLE}."
    )]
    FieldCount { expression: String },
    #[error(
        "schedule.expression {expression:?}: {bad:?} is not allowed (no L, W, #, ? or @ shortcuts; only numbers, names, *, ',', '-' and '/'), {EXAMPLE}."
    )]
    Forbidden { expression: String, bad: char },
    #[error("schedule.expression {expression:?} is not a valid cron expression: {error}.")]
    Invalid { expression: String, error: croner::errors::CronError },
    #[error(
        "schedule.timezone {timezone:?} is not an IANA time zone; use a name such as \"Europe/Paris\", \"America/New_York\" or \"UTC\"."
    )]
    TimeZone { timezone: String },
}

/// A deployment's schedule, parsed: a five-field cron expression in an IANA time zone.
pub struct CronSchedule {
    cron: Cron,
    tz: Tz,
}

impl CronSchedule {
    /// Parses a schedule, refusing what the API refuses: anything but five fields, seconds or
    /// years, `L`, `W`, `#`, `?`, `@` shortcuts, and a time zone not in the IANA database.
    pub fn parse(params: &ScheduleParams) -> Result<CronSchedule, ScheduleProblem> {
        let expression = params.expression.trim();
        let fields: Vec<&str> = expression.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(ScheduleProblem::FieldCount { expression: expression.to_owned() });
        }
        for field in &fields {
            let mut rest = field.to_ascii_uppercase();
            for name in [
                "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", "SUN", "MON",
                "TUE", "WED", "THU", "FRI", "SAT",
            ] {
                rest = rest.replace(name, "");
            }
            if let Some(bad) = rest.chars().find(|c| !(c.is_ascii_digit() || "*,-/".contains(*c))) {
                return Err(ScheduleProblem::Forbidden { expression: expression.to_owned(), bad });
            }
        }
        let parser = CronParser::builder().seconds(Seconds::Disallowed).year(Year::Disallowed).build();
        let cron = parser
            .parse(expression)
            .map_err(|error| ScheduleProblem::Invalid { expression: expression.to_owned(), error })?;
        let tz = Tz::from_str(params.timezone.trim())
            .map_err(|_| ScheduleProblem::TimeZone { timezone: params.timezone.clone() })?;
        Ok(CronSchedule { cron, tz })
    }

    /// The first fire strictly after `micros` (fires fall on whole minutes).
    pub fn next_after(&self, micros: i64) -> Option<i64> {
        let minute = micros - micros.rem_euclid(60_000_000);
        let from = DateTime::<Utc>::from_timestamp_micros(minute)?.with_timezone(&self.tz);
        let next = self.cron.find_next_occurrence(&from, false).ok()?;
        Some(next.with_timezone(&Utc).timestamp_micros())
    }

    /// Up to `n` fires after `micros`.
    pub fn upcoming(&self, micros: i64, n: usize) -> Vec<i64> {
        let mut times = Vec::with_capacity(n);
        let mut at = micros;
        while times.len() < n {
            let Some(next) = self.next_after(at) else { break };
            times.push(next);
            at = next;
        }
        times
    }

    /// The latest fire from `due` (itself a fire time) up to `now`: the one time a scheduler that
    /// was down since `due` runs; the earlier missed times are skipped.
    pub fn latest_due(&self, due: i64, now: i64) -> i64 {
        let mut latest = due;
        while let Some(next) = self.next_after(latest).filter(|n| *n <= now) {
            latest = next;
        }
        latest
    }
}

impl CronSchedule {
    /// The schedule in English, e.g. "At 09:30 on Monday through Friday." (times in its zone).
    pub fn describe(&self) -> String {
        self.cron.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(expression: &str, timezone: &str) -> CronSchedule {
        let params =
            ScheduleParams { expression: expression.into(), timezone: timezone.into(), r#type: Default::default() };
        CronSchedule::parse(&params).unwrap()
    }

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp_micros()
    }

    fn format_micros(micros: i64) -> String {
        DateTime::<Utc>::from_timestamp_micros(micros).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    }

    #[test]
    fn fires_follow_the_wall_clock_of_their_time_zone_across_daylight_saving() {
        let nine = schedule("0 9 * * *", "Europe/Paris");
        // 9:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer (from 29 March 2026).
        let fires = nine.upcoming(at("2026-03-27T12:00:00Z"), 3);
        assert_eq!(
            fires.into_iter().map(format_micros).collect::<Vec<_>>(),
            ["2026-03-28T08:00:00.000000Z", "2026-03-29T07:00:00.000000Z", "2026-03-30T07:00:00.000000Z"]
        );
        let within = nine.next_after(at("2026-03-28T07:59:59.5Z"));
        assert_eq!(within, Some(at("2026-03-28T08:00:00Z")), "a fire later in the same minute counts");
        assert_eq!(nine.next_after(at("2026-03-28T08:00:00Z")), Some(at("2026-03-29T07:00:00Z")), "strictly after");
    }

    #[test]
    fn a_scheduler_that_was_down_runs_only_the_latest_missed_time() {
        let hourly = schedule("0 * * * *", "UTC");
        let first_missed = at("2026-05-01T10:00:00Z");
        assert_eq!(hourly.latest_due(first_missed, at("2026-05-01T13:30:00Z")), at("2026-05-01T13:00:00Z"));
        assert_eq!(hourly.latest_due(first_missed, at("2026-05-01T10:00:01Z")), first_missed);
    }

    #[test]
    fn the_api_s_cron_dialect_is_refused_beyond_five_posix_fields() {
        let refused = |expression: &str, timezone: &str| {
            let params =
                ScheduleParams { expression: expression.into(), timezone: timezone.into(), r#type: Default::default() };
            CronSchedule::parse(&params).err()
        };
        for bad in ["* * * *", "0 * * * * *", "@daily"] {
            assert!(matches!(refused(bad, "UTC"), Some(ScheduleProblem::FieldCount { .. })), "{bad} was accepted");
        }
        for (bad, character) in [("0 9 L * *", 'L'), ("0 9 15W * *", 'W'), ("0 9 * * 5#2", '#'), ("0 9 ? * *", '?')] {
            assert!(
                matches!(refused(bad, "UTC"), Some(ScheduleProblem::Forbidden { bad: found, .. }) if found == character),
                "{bad} was accepted"
            );
        }
        assert!(matches!(refused("0 9 * * *", "Mars/Olympus"), Some(ScheduleProblem::TimeZone { .. })));
        // The words a person reads in the API's 400 and the console's preview.
        assert_eq!(
            refused("0 9 ? * *", "UTC").unwrap().to_string(),
            "schedule.expression \"0 9 ? * *\": '?' is not allowed (no L, W, #, ? or @ shortcuts; only numbers, names, *, ',', '-' and '/'), e.g. \"0 9 * * 1-5\" for 9:00 on weekdays."
        );
        let sunday = schedule("0 9 * * 7", "UTC").next_after(at("2026-11-22T10:00:00Z")).map(format_micros);
        assert_eq!(sunday.as_deref(), Some("2026-11-29T09:00:00.000000Z"), "7 is Sunday");
    }
}
