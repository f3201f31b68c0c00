//! The step-by-step log: one line per step (✓/✗), one verdict per scenario, and the final
//! `e2e: N passed, M failed` summary line.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Verdicts so far across every report of this process, for the summary printed when the run
/// is interrupted (the interrupted run's own report is dropped with it).
static PASSED: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);

/// The summary line for an interrupted run: what finished, plus the interruption as a failure.
pub fn interrupted_summary() -> String {
    format!(
        "e2e: {} passed, {} failed",
        PASSED.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed) + 1
    )
}

/// Counts scenario verdicts and prints the log.
#[derive(Debug, Default)]
pub struct Report {
    passed: usize,
    failed: Vec<String>,
}

impl Report {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn scenario(&self, name: &str) {
        say(&format!("\n▶ {name}"));
    }

    pub fn pass(&mut self, name: &str) {
        self.passed += 1;
        PASSED.fetch_add(1, Ordering::Relaxed);
        say(&format!("✓ {name}"));
    }

    pub fn fail(&mut self, name: &str, error: &anyhow::Error) {
        self.failed.push(name.to_owned());
        FAILED.fetch_add(1, Ordering::Relaxed);
        say(&format!("✗ {name}: {error:#}"));
    }

    pub fn failed(&self) -> usize {
        self.failed.len()
    }

    pub fn passed(&self) -> usize {
        self.passed
    }

    /// The summary line, exactly `e2e: N passed, M failed` (scripts grep for it).
    pub fn summary(&self) -> String {
        format!("e2e: {} passed, {} failed", self.passed, self.failed.len())
    }

    pub fn print_summary(&self) {
        if !self.failed.is_empty() {
            say(&format!("failed: {}", self.failed.join(", ")));
        }
        say(&self.summary());
    }
}

/// One step that succeeded.
pub fn ok(step: &str) {
    say(&format!("  ✓ {step}"));
}

/// An informational line inside a scenario.
pub fn note(text: &str) {
    say(&format!("  · {text}"));
}

/// Prints a line and flushes, so the log interleaves correctly with child output.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout must not abort the run; the exit code still tells the verdict.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Prints a block indented under the current step (mock state, logs, command output).
pub fn block(title: &str, body: &str) {
    say(&format!("    ── {title}"));
    for line in body.lines() {
        say(&format!("    │ {line}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_counts_passes_and_failures_in_the_fixed_form() {
        let mut r = Report::new();
        r.pass("a");
        r.pass("b");
        r.fail("c", &anyhow::anyhow!("boom"));
        assert_eq!(r.summary(), "e2e: 2 passed, 1 failed");
    }
}
