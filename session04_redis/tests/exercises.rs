//! Session 04's graded exercises. `cargo xtask grade 4` runs these; each test's name starts
//! with its exercise's id (`ex04_2_...` belongs to exercise 4.2), which is how the grader
//! adds up the points in `exercises.toml`.

use serde_json::{Value, json};
use session04_redis::exercises::{
    DeadLetter, PendingEntry, ReasonCount, ReclaimPlan, StreamId, dead_letter_report, plan_reclaim,
    upgrade,
};

// ---- 4.1 stream ids

fn id(text: &str) -> StreamId {
    text.parse()
        .unwrap_or_else(|error| panic!("{text:?} should parse: {error}"))
}

#[test]
fn ex04_1_parses_both_forms() {
    assert_eq!(
        id("1700000000000-5"),
        StreamId {
            ms: 1_700_000_000_000,
            seq: 5
        }
    );
    assert_eq!(
        id("1700000000000"),
        StreamId {
            ms: 1_700_000_000_000,
            seq: 0
        }
    );
    assert_eq!(id("0-0"), StreamId { ms: 0, seq: 0 });
    assert_eq!(id("0"), StreamId { ms: 0, seq: 0 });
    assert_eq!(id("007-01"), StreamId { ms: 7, seq: 1 });
    assert_eq!(
        id("18446744073709551615-18446744073709551615"),
        StreamId {
            ms: u64::MAX,
            seq: u64::MAX
        }
    );
}

#[test]
fn ex04_1_rejects_what_is_not_an_id() {
    assert!("".parse::<StreamId>().is_err(), "an empty text");
    for text in [
        "-",
        "5-",
        "-5",
        "+5",
        "5-+1",
        "-5-1",
        "1-2-3",
        "5--1",
        "5-a",
        "a",
        "a-5",
        " 5",
        "5 ",
        "5- 1",
        "1.5",
        "0x10",
        "1_000",
        "٣-1",
        "*",
        "$",
        ">",
        "18446744073709551616",
        "1-18446744073709551616",
        "99999999999999999999999-0",
    ] {
        match text.parse::<StreamId>() {
            Ok(parsed) => panic!("{text:?} is not a stream id, but parsed as {parsed:?}"),
            Err(message) => assert!(
                message.contains(text.trim()),
                "the message for {text:?} should quote it: {message:?}"
            ),
        }
    }
}

#[test]
fn ex04_1_displays_as_ms_dash_seq() {
    assert_eq!(id("1700000000000-5").to_string(), "1700000000000-5");
    assert_eq!(id("1700000000000").to_string(), "1700000000000-0");
    assert_eq!(id("007-01").to_string(), "7-1");
    let max = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };
    assert_eq!(max.to_string(), "18446744073709551615-18446744073709551615");
    for original in [max, StreamId { ms: 12, seq: 34 }, StreamId::default()] {
        assert_eq!(id(&original.to_string()), original, "a round trip");
    }
}

#[test]
fn ex04_1_orders_by_number_not_by_text() {
    let mut ids: Vec<StreamId> = [
        "10-0",
        "9-100",
        "1700000000000-1",
        "9-99",
        "1700000000000",
        "9",
        "10-1",
    ]
    .into_iter()
    .map(id)
    .collect();
    ids.sort();
    let sorted: Vec<String> = ids.iter().map(ToString::to_string).collect();
    assert_eq!(
        sorted,
        [
            "9-0",
            "9-99",
            "9-100",
            "10-0",
            "10-1",
            "1700000000000-0",
            "1700000000000-1"
        ]
    );
    assert!(id("9-18446744073709551615") < id("10"));
}

#[test]
fn ex04_1_next_is_the_smallest_larger_id() {
    assert_eq!(id("5-1").next(), Some(id("5-2")));
    assert_eq!(id("5").next(), Some(id("5-1")));
    assert_eq!(id("5-18446744073709551615").next(), Some(id("6-0")));
    assert_eq!(
        id("18446744073709551615-18446744073709551614").next(),
        Some(id("18446744073709551615-18446744073709551615"))
    );
    assert_eq!(id("18446744073709551615-18446744073709551615").next(), None);
    for text in ["0-0", "3-7", "4-18446744073709551615"] {
        let current = id(text);
        let next = current.next().expect("a next id");
        assert!(next > current, "{next} should come after {current}");
    }
}

#[test]
fn ex04_1_age_saturates() {
    let entry = id("1000-3");
    assert_eq!(entry.age_ms(1500), 500);
    assert_eq!(entry.age_ms(1000), 0);
    assert_eq!(entry.age_ms(999), 0, "a clock behind the entry's");
    assert_eq!(entry.age_ms(0), 0);
    assert_eq!(id("0-0").age_ms(u64::MAX), u64::MAX);
    assert_eq!(id("18446744073709551615-0").age_ms(0), 0);
}

// ---- 4.2 reclaiming leases

fn pending(id: &str, consumer: &str, idle_ms: u64, deliveries: u32) -> PendingEntry {
    PendingEntry {
        id: id.to_owned(),
        consumer: consumer.to_owned(),
        idle_ms,
        deliveries,
    }
}

fn plan(claim: &[&str], dead_letter: &[&str]) -> ReclaimPlan {
    ReclaimPlan {
        claim: claim.iter().map(|s| (*s).to_owned()).collect(),
        dead_letter: dead_letter.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[test]
fn ex04_2_an_idle_time_equal_to_the_lease_has_expired() {
    let entries = [
        pending("1-0", "worker-a", 29_999, 1),
        pending("2-0", "worker-a", 30_000, 1),
        pending("3-0", "worker-b", 30_001, 1),
        pending("4-0", "worker-b", 0, 1),
        pending("5-0", "worker-c", u64::MAX, 1),
    ];
    assert_eq!(
        plan_reclaim(&entries, 30_000, 5),
        plan(&["2-0", "3-0", "5-0"], &[])
    );
}

#[test]
fn ex04_2_dead_letter_at_the_delivery_limit() {
    let entries = [
        pending("1-0", "worker-a", 60_000, 4),
        pending("2-0", "worker-a", 60_000, 5),
        pending("3-0", "worker-a", 60_000, 6),
        pending("4-0", "worker-a", 60_000, 1),
    ];
    assert_eq!(
        plan_reclaim(&entries, 30_000, 5),
        plan(&["1-0", "4-0"], &["2-0", "3-0"])
    );
    // A still-leased entry is left alone, however often it was delivered.
    let leased = [pending("9-0", "worker-a", 10, 99)];
    assert_eq!(plan_reclaim(&leased, 30_000, 5), ReclaimPlan::default());
}

#[test]
fn ex04_2_both_lists_keep_the_input_order() {
    let entries = [
        pending("1700000000300-0", "worker-c", 90_000, 3),
        pending("1700000000100-2", "worker-a", 45_000, 1),
        pending("1700000000200-0", "worker-b", 5_000, 1),
        pending("1700000000100-1", "worker-a", 45_000, 2),
        pending("1700000000050-0", "worker-b", 120_000, 3),
        pending("1700000000400-0", "worker-c", 31_000, 3),
        pending("1700000000000-9", "worker-a", 31_000, 2),
    ];
    assert_eq!(
        plan_reclaim(&entries, 30_000, 3),
        plan(
            &["1700000000100-2", "1700000000100-1", "1700000000000-9"],
            &["1700000000300-0", "1700000000050-0", "1700000000400-0"]
        )
    );
}

#[test]
fn ex04_2_edge_cases() {
    assert_eq!(plan_reclaim(&[], 30_000, 5), ReclaimPlan::default());
    let entries = [
        pending("1-0", "worker-a", 0, 1),
        pending("2-0", "worker-b", 7, 0),
        pending("3-0", "worker-b", 7, u32::MAX),
    ];
    // A lease of 0 has always expired.
    assert_eq!(
        plan_reclaim(&entries, 0, 2),
        plan(&["1-0", "2-0"], &["3-0"])
    );
    // No deliveries allowed: everything expired is given up on.
    assert_eq!(
        plan_reclaim(&entries, 0, 0),
        plan(&[], &["1-0", "2-0", "3-0"])
    );
    assert_eq!(
        plan_reclaim(&entries, 0, u32::MAX),
        plan(&["1-0", "2-0"], &["3-0"])
    );
    // Nothing has been idle for the longest lease but one that has.
    assert_eq!(
        plan_reclaim(&[pending("4-0", "w", u64::MAX, 1)], u64::MAX, 2),
        plan(&["4-0"], &[])
    );
    assert_eq!(plan_reclaim(&entries, u64::MAX, 2), ReclaimPlan::default());
}

// ---- 4.3 upgrading envelopes

fn v0(filters: &str) -> Value {
    json!({
        "v": 0,
        "id": "0190a3b4-7c2d-7e8f-9a0b-1c2d3e4f5a6b",
        "filters": filters,
        "src": "inputs/a.png",
        "dst": "results/a.png",
        "created": "2026-01-01T00:00:00Z"
    })
}

fn v1(filters: Value) -> Value {
    json!({
        "v": 1,
        "task": {
            "id": "0190a3b4-7c2d-7e8f-9a0b-1c2d3e4f5a6b",
            "pipeline": { "filters": filters },
            "input": "inputs/a.png",
            "output": "results/a.png",
            "created_at": "2026-01-01T00:00:00Z"
        }
    })
}

fn upgrade_error(envelope: Value) -> String {
    match upgrade(envelope.clone()) {
        Ok(upgraded) => panic!("{envelope} should be refused, but became {upgraded}"),
        Err(message) => message,
    }
}

#[test]
fn ex04_3_version_1_is_returned_unchanged() {
    let current = v1(json!([{ "name": "blur", "sigma": 2 }, { "name": "edges" }]));
    assert_eq!(upgrade(current.clone()), Ok(current));
    // Whatever it holds: checking a current task is the queue's job, not the migration's.
    let odd = json!({ "v": 1, "task": "anything", "extra": [1, 2] });
    assert_eq!(upgrade(odd.clone()), Ok(odd));
}

#[test]
fn ex04_3_upgrades_version_0() {
    assert_eq!(
        upgrade(v0("blur:sigma=2|edges")),
        Ok(v1(
            json!([{ "name": "blur", "sigma": 2 }, { "name": "edges" }])
        ))
    );
    assert_eq!(
        upgrade(v0("grayscale")),
        Ok(v1(json!([{ "name": "grayscale" }])))
    );
    // Upgrading twice changes nothing more.
    let once = upgrade(v0("resize:width=64|invert")).expect("a valid envelope");
    assert_eq!(upgrade(once.clone()), Ok(once));
    // Other fields of a version 0 envelope are dropped.
    let mut extra = v0("edges");
    extra["priority"] = json!(5);
    assert_eq!(upgrade(extra), Ok(v1(json!([{ "name": "edges" }]))));
}

#[test]
fn ex04_3_parameters_sit_beside_the_name_trimmed_and_typed() {
    assert_eq!(
        upgrade(v0(
            " resize : width = 800 , height=600,filter= nearest | contrast:factor=1.5|brightness:delta=-20 "
        )),
        Ok(v1(json!([
            { "name": "resize", "width": 800, "height": 600, "filter": "nearest" },
            { "name": "contrast", "factor": 1.5 },
            { "name": "brightness", "delta": -20 }
        ])))
    );
    // The same filter twice is two stages; a value may hold a `:`.
    assert_eq!(
        upgrade(v0("blur:sigma=1|blur:sigma=3|tag:label=a:b")),
        Ok(v1(json!([
            { "name": "blur", "sigma": 1 },
            { "name": "blur", "sigma": 3 },
            { "name": "tag", "label": "a:b" }
        ])))
    );
}

#[test]
fn ex04_3_refuses_unknown_versions_and_shapes() {
    for envelope in [json!([]), json!("v0"), json!(null), json!(1)] {
        upgrade_error(envelope);
    }
    upgrade_error(json!({ "task": {} }));
    for version in [
        json!("1"),
        json!(1.0),
        json!(0.5),
        json!(-1),
        json!(true),
        json!(null),
    ] {
        upgrade_error(json!({ "v": version, "task": {} }));
    }
    for version in [2, 7, 42] {
        let message = upgrade_error(json!({ "v": version, "task": {} }));
        assert!(
            message.contains(&version.to_string())
                && message.contains('0')
                && message.contains('1'),
            "version {version}: the message should name it and the known versions: {message}"
        );
    }
    upgrade_error(json!({ "v": u64::MAX }));
}

#[test]
fn ex04_3_refuses_a_version_0_without_its_fields() {
    for field in ["id", "filters", "src", "dst", "created"] {
        let mut missing = v0("edges");
        missing.as_object_mut().expect("an object").remove(field);
        let message = upgrade_error(missing);
        assert!(message.contains(field), "missing {field}: {message}");
        let mut wrong = v0("edges");
        wrong[field] = json!(["not", "a", "string"]);
        let message = upgrade_error(wrong);
        assert!(message.contains(field), "non-string {field}: {message}");
    }
}

#[test]
fn ex04_3_refuses_malformed_filters() {
    for filters in [
        "",
        " ",
        "blur||edges",
        "|blur",
        "blur|",
        ":sigma=2",
        " :sigma=2",
    ] {
        upgrade_error(v0(filters));
    }
    for (filters, token) in [
        ("blur:sigma", "sigma"),
        ("blur:sigma=", "sigma"),
        ("blur:=2", "=2"),
        ("edges|blur:sigma=2,radius", "radius"),
        ("blur:sigma=1,sigma=2", "sigma"),
        ("blur:name=box", "name"),
    ] {
        let message = upgrade_error(v0(filters));
        assert!(message.contains(token), "{filters:?}: {message}");
    }
    for filters in [
        "blur:",
        "blur:sigma=2,",
        "blur:sigma=2,,radius=1",
        "blur: , ",
    ] {
        upgrade_error(v0(filters));
    }
}

// ---- 4.4 dead-letter report

fn letter(entry: &str, reason: &str, at_ms: u64) -> DeadLetter {
    DeadLetter {
        entry: entry.to_owned(),
        reason: reason.to_owned(),
        at_ms,
    }
}

fn line(reason: &str, count: usize, first_ms: u64, last_ms: u64) -> ReasonCount {
    ReasonCount {
        reason: reason.to_owned(),
        count,
        first_ms,
        last_ms,
    }
}

#[test]
fn ex04_4_groups_and_sorts_by_count() {
    let letters = [
        letter("1-0", "lease expired 5 times", 1_000),
        letter("2-0", "corrupt image", 2_000),
        letter("3-0", "lease expired 5 times", 3_000),
        letter("4-0", "unknown filter", 4_000),
        letter("5-0", "lease expired 5 times", 5_000),
        letter("6-0", "unknown filter", 6_000),
    ];
    assert_eq!(
        dead_letter_report(&letters),
        [
            line("lease expired 5 times", 3, 1_000, 5_000),
            line("unknown filter", 2, 4_000, 6_000),
            line("corrupt image", 1, 2_000, 2_000),
        ]
    );
}

#[test]
fn ex04_4_equal_counts_by_reason() {
    let letters = [
        letter("1-0", "timeout", 10),
        letter("2-0", "Timeout", 20),
        letter("3-0", "corrupt image", 30),
        letter("4-0", "timeout ", 40),
        letter("5-0", "b", 50),
        letter("6-0", "a", 60),
        letter("7-0", "b", 70),
        letter("8-0", "a", 80),
    ];
    assert_eq!(
        dead_letter_report(&letters),
        [
            line("a", 2, 60, 80),
            line("b", 2, 50, 70),
            line("Timeout", 1, 20, 20),
            line("corrupt image", 1, 30, 30),
            line("timeout", 1, 10, 10),
            line("timeout ", 1, 40, 40),
        ]
    );
}

#[test]
fn ex04_4_first_and_last_from_letters_in_any_order() {
    let letters = [
        letter("1-0", "oom", 500),
        letter("2-0", "oom", 100),
        letter("3-0", "oom", u64::MAX),
        letter("4-0", "oom", 0),
        letter("5-0", "oom", 300),
    ];
    assert_eq!(dead_letter_report(&letters), [line("oom", 5, 0, u64::MAX)]);
}

#[test]
fn ex04_4_empty_and_single() {
    assert_eq!(dead_letter_report(&[]), []);
    assert_eq!(
        dead_letter_report(&[letter("9-9", "", 42)]),
        [line("", 1, 42, 42)]
    );
}

#[test]
fn ex04_4_many_letters() {
    // 10,000 letters over 7 reasons, r0 to r4 a few hundred times each and r5 and r6
    // equally often, given in an order that is neither by count nor by reason.
    let reasons = ["r0", "r1", "r2", "r3", "r4", "r6", "r5"];
    let counts = [100, 200, 300, 400, 500, 4_250, 4_250];
    let mut letters = Vec::new();
    for (reason, count) in reasons.iter().zip(counts) {
        for i in 0..count {
            letters.push(letter("1-0", reason, (i * 7_919) % 10_007));
        }
    }
    let report = dead_letter_report(&letters);
    let order: Vec<(&str, usize)> = report
        .iter()
        .map(|line| (line.reason.as_str(), line.count))
        .collect();
    assert_eq!(
        order,
        [
            ("r5", 4_250),
            ("r6", 4_250),
            ("r4", 500),
            ("r3", 400),
            ("r2", 300),
            ("r1", 200),
            ("r0", 100)
        ]
    );
    assert_eq!(report.iter().map(|line| line.count).sum::<usize>(), 10_000);
    let times: Vec<u64> = (0..100).map(|i| (i * 7_919) % 10_007).collect();
    let r0 = &report[6];
    assert_eq!(r0.first_ms, 0);
    assert_eq!(r0.last_ms, times.iter().copied().max().expect("times"));
}
