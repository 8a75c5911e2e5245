//! Mock plans that read like a coach's: tickers, levels, entries, stops and catalysts that
//! change with the date and the coach, and are always the same for a given coach and date.

use coach_plans_model::{Attachment, CoachId, PlanDate};

/// A mock plan's content: what a coach would type, and the charts they would attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockPlan {
    /// The plan text.
    pub text: String,
    /// Mock chart screenshots (`https://example.com/...png`).
    pub charts: Vec<Attachment>,
}

/// The mock plan for a coach and date. Deterministic: the same inputs give the same plan.
pub fn mock_plan(coach: &CoachId, date: PlanDate) -> MockPlan {
    let mut rng = Rng::new(coach.as_str(), date);
    let style = Style::of(coach);
    let text = match style {
        Style::Day => day_plan(&mut rng, date),
        Style::Intraday => intraday_plan(&mut rng, date),
        Style::Swing => swing_plan(&mut rng, date),
        Style::News => news_plan(&mut rng, date),
    };
    let charts = charts(&mut rng, coach, date, style);
    MockPlan { text, charts }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Day,
    Intraday,
    Swing,
    News,
}

impl Style {
    /// The default coaches have their own style; others get one picked from their id.
    fn of(coach: &CoachId) -> Self {
        match coach.as_str() {
            "d" => Self::Day,
            "i" => Self::Intraday,
            "s" => Self::Swing,
            "n" => Self::News,
            other => [Self::Day, Self::Intraday, Self::Swing, Self::News]
                [(fnv(other.as_bytes()) % 4) as usize],
        }
    }

    fn chart_kinds(self) -> &'static [&'static str] {
        match self {
            Self::Day => &["daily", "5min", "levels"],
            Self::Intraday => &["opening_range", "vwap", "tick"],
            Self::Swing => &["weekly", "daily", "relative_strength"],
            Self::News => &["calendar", "sector_heatmap"],
        }
    }
}

/// SplitMix64 seeded from the coach and date.
struct Rng(u64);

impl Rng {
    fn new(coach: &str, date: PlanDate) -> Self {
        Self(fnv(format!("{coach}|{date}").as_bytes()))
    }

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

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A fraction in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// (ticker, base price, tick size for levels)
const STOCKS: &[(&str, f64, f64)] = &[
    ("SPY", 520.0, 0.5),
    ("QQQ", 440.0, 0.5),
    ("NVDA", 950.0, 5.0),
    ("TSLA", 180.0, 1.0),
    ("AAPL", 185.0, 0.5),
    ("AMD", 160.0, 1.0),
    ("META", 480.0, 2.5),
    ("MSFT", 415.0, 2.5),
    ("AMZN", 185.0, 1.0),
    ("GOOGL", 170.0, 1.0),
];

/// A ticker's price on a date: a slow deterministic swing around its base, plus the day's noise.
fn price(base: f64, ticker: &str, date: PlanDate, rng: &mut Rng) -> f64 {
    let day =
        f64::from(date.year()) * 372.0 + f64::from(date.month()) * 31.0 + f64::from(date.day());
    let phase = (fnv(ticker.as_bytes()) % 628) as f64 / 100.0;
    base * (1.0 + 0.12 * (day / 45.0 + phase).sin() + 0.01 * (rng.unit() - 0.5))
}

fn level(value: f64, tick: f64) -> String {
    let rounded = (value / tick).round() * tick;
    if tick >= 1.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.2}")
    }
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn day_plan(rng: &mut Rng, date: PlanDate) -> String {
    let &(ticker, base, tick) = rng.pick(STOCKS);
    let p = price(base, ticker, date, rng);
    let long = rng.below(3) > 0;
    let step = (p * 0.006).max(tick);
    let (entry, t1, t2, stop) = if long {
        (
            p + step * 0.5,
            p + step * 2.0,
            p + step * 3.5,
            p - step * 1.5,
        )
    } else {
        (
            p - step * 0.5,
            p - step * 2.0,
            p - step * 3.5,
            p + step * 1.5,
        )
    };
    let shelf = level(p - step, tick);
    let bias = if long { "Longs" } else { "Shorts" };
    let side = if long { "above" } else { "below" };
    let note = rng.pick(&[
        "Premarket volume is light, so let the first 15 minutes settle.",
        "Breadth was strong yesterday; I want to see it confirm at the open.",
        "Gap-and-go only if the gap holds the first pullback.",
        "No trade in the first 5 minutes; wait for the opening range.",
    ]);
    let size = rng.pick(&["half size", "full size", "a third of normal size"]);
    format!(
        "{ticker} day plan for {weekday} {date}: watching the {shelf} shelf. {bias} {side} {entry}, \
         first target {t1}, then {t2}; stop {stop}. {note} Trading {size}.",
        weekday = WEEKDAYS[usize::from(date.weekday())],
        entry = level(entry, tick),
        t1 = level(t1, tick),
        t2 = level(t2, tick),
        stop = level(stop, tick),
    )
}

fn intraday_plan(rng: &mut Rng, date: PlanDate) -> String {
    let es = price(5200.0, "ES", date, rng);
    let nq = price(18_200.0, "NQ", date, rng);
    let push = level(es + 8.0 + rng.unit() * 6.0, 0.25);
    let vwap = level(es - 2.0, 0.25);
    let target = level(es + 15.0, 0.25);
    let stop = level(es + 14.0 + rng.unit() * 4.0, 0.25);
    let nq_note = rng.pick(&[
        "lagging ES, so I only take shorts there",
        "leading, so longs get priority on a VWAP reclaim",
        "inside yesterday's range until it breaks the overnight high",
    ]);
    format!(
        "Opening range plan for {date}: fade the first push into {push} on ES if breadth stays negative; \
         a reclaim of VWAP ({vwap}) flips me long toward {target}. Stop {stop} on the fade. NQ ({nq}) is {nq_note}. \
         Flat by 15:30 ET.",
        nq = level(nq, 1.0),
    )
}

fn swing_plan(rng: &mut Rng, date: PlanDate) -> String {
    let first = rng.below(STOCKS.len());
    let second = (first + 1 + rng.below(STOCKS.len() - 1)) % STOCKS.len();
    let (t1, b1, k1) = STOCKS[first];
    let (t2, b2, k2) = STOCKS[second];
    let p1 = price(b1, t1, date, rng);
    let p2 = price(b2, t2, date, rng);
    let pattern = rng.pick(&[
        "bull flag",
        "cup and handle",
        "base breakout",
        "higher low on the weekly",
    ]);
    let management = rng.pick(&[
        "Nothing chased; alerts set.",
        "Taking a third off at 2R and trailing the rest under the 10-day.",
        "Holding through earnings only with a starter position.",
    ]);
    format!(
        "Swing list for the week of {date}: {t1} pullback to the 20-day near {pb} (add on a close above {add}, stop {s1}); \
         {t2} {pattern} with a trigger over {trigger}, stop {s2}. {management}",
        pb = level(p1 * 0.97, k1),
        add = level(p1 * 0.985, k1),
        s1 = level(p1 * 0.94, k1),
        trigger = level(p2 * 1.02, k2),
        s2 = level(p2 * 0.97, k2),
    )
}

fn news_plan(rng: &mut Rng, date: PlanDate) -> String {
    let calendar = match date.weekday() {
        0 => "no tier-1 data; Fed speakers at 10:00 ET".to_owned(),
        1 => format!(
            "JOLTS at 10:00 ET, {} reports after the close",
            rng.pick(&["AMD", "GOOGL", "MSFT"])
        ),
        2 if date.day() <= 14 => "CPI at 8:30 ET, crude inventories at 10:30 ET".to_owned(),
        2 => "FOMC decision at 14:00 ET, press conference at 14:30 ET".to_owned(),
        3 => "jobless claims and PPI at 8:30 ET".to_owned(),
        4 if date.day() <= 7 => "the jobs report (NFP) at 8:30 ET".to_owned(),
        4 => "UMich sentiment at 10:00 ET, options expiration".to_owned(),
        _ => "markets closed; futures reopen Sunday at 18:00 ET".to_owned(),
    };
    let spy = price(520.0, "SPY", date, rng);
    let stance = rng.pick(&[
        "Expect chop before the print: no hero trades into the number.",
        "Size down until the number is out; the first move after 8:30 often fails.",
        "Volatility sellers are active; fade extremes in the first hour.",
    ]);
    format!(
        "{weekday} {date} calendar: {calendar}. {stance} Levels to watch: SPY {low} / {high}.",
        weekday = WEEKDAYS[usize::from(date.weekday())],
        low = level(spy * 0.992, 0.5),
        high = level(spy * 1.008, 0.5),
    )
}

fn charts(rng: &mut Rng, coach: &CoachId, date: PlanDate, style: Style) -> Vec<Attachment> {
    let kinds = style.chart_kinds();
    let count = 1 + rng.below(kinds.len());
    kinds[..count]
        .iter()
        .map(|kind| {
            let filename = format!("{}_{date}_{kind}.png", coach.api_key());
            Attachment {
                url: format!(
                    "https://example.com/charts/{}/{date}/{filename}",
                    coach.as_str()
                ),
                filename,
                content_type: Some("image/png".to_owned()),
                size: Some(40_000 + rng.below(160_000) as u64),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coach(id: &str) -> CoachId {
        CoachId::parse(id).unwrap()
    }

    fn date(s: &str) -> PlanDate {
        PlanDate::parse(s).unwrap()
    }

    #[test]
    fn a_coach_and_date_always_give_the_same_plan() {
        assert_eq!(
            mock_plan(&coach("d"), date("2024-05-10")),
            mock_plan(&coach("d"), date("2024-05-10"))
        );
    }

    #[test]
    fn plans_differ_by_coach_and_by_date() {
        let mut texts = std::collections::HashSet::new();
        for id in ["d", "i", "s", "n", "x9"] {
            let mut day = date("2024-01-01");
            for _ in 0..60 {
                assert!(
                    texts.insert(mock_plan(&coach(id), day).text),
                    "{id} {day} repeats an earlier plan"
                );
                day = day.checked_add_days(1).unwrap();
            }
        }
    }

    #[test]
    fn plans_read_like_plans_and_fit_the_limits() {
        let mut day = date("2023-06-01");
        for _ in 0..400 {
            for id in ["d", "i", "s", "n"] {
                let plan = mock_plan(&coach(id), day);
                assert!(coach_plans_model::PlanText::parse(&plan.text).is_ok());
                assert!(
                    plan.text.chars().any(|c| c.is_ascii_digit()),
                    "levels: {}",
                    plan.text
                );
                assert!(
                    !plan.text.contains("NaN") && !plan.text.contains("inf"),
                    "{}",
                    plan.text
                );
                assert!((1..=3).contains(&plan.charts.len()));
                for chart in &plan.charts {
                    assert!(chart.is_image() && chart.url.starts_with("https://example.com/"));
                }
            }
            day = day.checked_add_days(1).unwrap();
        }
        assert!(
            mock_plan(&coach("d"), date("2024-05-10"))
                .text
                .contains("2024-05-10")
        );
        assert!(
            mock_plan(&coach("n"), date("2024-05-08"))
                .text
                .contains("CPI"),
            "the second Wednesday has CPI"
        );
    }
}
