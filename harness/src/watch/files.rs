//! File events: one recursive watch on exercises/, forwarded as `Event::Changed`.
//! Filtering to the current exercise and debouncing happen in the watch loop.

use std::path::Path;
use std::sync::mpsc::Sender;

use anyhow::Context;
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use super::Event;

/// The watcher stops when the returned value is dropped.
pub fn watch(dir: &Path, tx: Sender<Event>) -> anyhow::Result<RecommendedWatcher> {
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        // Reads and opens are not saves; editors' atomic renames show up as create or modify.
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        for path in event.paths {
            let _ = tx.send(Event::Changed(path));
        }
    })
    .context("cannot start the file watcher")?;
    watcher
        .watch(dir, RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", dir.display()))?;
    Ok(watcher)
}
