//! What libtest printed: each test's result, and a failed test's panic message.

use super::text::truncate;

/// `(name, passed)` for every `test NAME ... ok|FAILED` line of libtest's output.
pub fn parse_results(output: &str) -> Vec<(&str, bool)> {
    output
        .lines()
        .filter_map(|line| {
            let (name, result) = line.strip_prefix("test ")?.split_once(" ... ")?;
            match result {
                "ok" => Some((name, true)),
                "FAILED" => Some((name, false)),
                _ => None,
            }
        })
        .collect()
}

/// The panic message libtest printed for a failed test.
pub fn failure_message(output: &str, name: &str) -> String {
    let header = format!("---- {name} stdout ----");
    let Some(start) = output.find(&header) else {
        return "failed".to_owned();
    };
    let section = &output[start + header.len()..];
    let end = section
        .find("\n---- ")
        .or_else(|| section.find("\nfailures:"))
        .unwrap_or(section.len());
    let mut lines: Vec<&str> = section[..end]
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter(|line| !line.starts_with("note: run with `RUST_BACKTRACE=1`"))
        .collect();
    // "thread 'name' (id) panicked at file:line:col:" says where; the lines after say what.
    let place = lines
        .first()
        .filter(|line| line.starts_with("thread '"))
        .and_then(|line| line.split_once(" panicked at "))
        .map(|(_, place)| place.trim_end_matches(':').to_owned());
    if place.is_some() {
        lines.remove(0);
    }
    let message = lines.join("\n");
    let message = match place {
        Some(place) => format!("{message} (at {place})"),
        None => message,
    };
    truncate(message.trim(), 2000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBTEST: &str = "\nrunning 3 tests\ntest ex01_1_a ... ok\ntest ex01_2_b ... FAILED\n\
        test ex01_10_c ... ok\n\nfailures:\n\n---- ex01_2_b stdout ----\n\n\
        thread 'ex01_2_b' (42) panicked at src/x.rs:3:5:\nassertion failed: dark\n\
        note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\n\
        failures:\n    ex01_2_b\n\ntest result: FAILED. 2 passed; 1 failed\n";

    #[test]
    fn libtest_output_gives_results_and_panic_messages() {
        assert_eq!(
            parse_results(LIBTEST),
            vec![("ex01_1_a", true), ("ex01_2_b", false), ("ex01_10_c", true)]
        );
        assert_eq!(
            failure_message(LIBTEST, "ex01_2_b"),
            "assertion failed: dark (at src/x.rs:3:5)"
        );
    }
}
