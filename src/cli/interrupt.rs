//! SIGINT (Ctrl-C) during `simulate --input`: the first signal asks the
//! stream loop to stop after the chunk in hand, flush its results and print
//! the summary marked "interrupted" (exit status 130, as a shell reports a
//! command killed by SIGINT); a second signal exits at once, so a run
//! blocked on a silent input never has to be killed by other means.
//!
//! The loop checks the flag between chunks. A read blocked on an idle pipe
//! is not cut short by the first signal; in a terminal, Ctrl-C also stops
//! the command feeding the pipe, whose end of input ends the read.

use std::sync::atomic::{AtomicBool, Ordering};

/// Exit status of a run stopped by SIGINT (128 + 2).
pub const EXIT_INTERRUPTED: i32 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the SIGINT handler (once per process; later calls and a
/// failure to install leave the default behaviour, termination).
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(EXIT_INTERRUPTED);
        }
    });
}

/// Whether SIGINT has been received since [`install`].
pub fn requested() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
