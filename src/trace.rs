//! corio's own tracing hooks (feature `tracing`): without the feature they
//! expand to nothing, so they cost nothing.

/// A `tracing::trace!` event, compiled only with the feature.
macro_rules! trace_event {
    ($($arg:tt)*) => {
        #[cfg(feature = "tracing")]
        {
            ::tracing::trace!(target: "corio", $($arg)*);
        }
    };
}

/// A `tracing::debug!` event, compiled only with the feature.
macro_rules! debug_event {
    ($($arg:tt)*) => {
        #[cfg(feature = "tracing")]
        {
            ::tracing::debug!(target: "corio", $($arg)*);
        }
    };
}

pub(crate) use {debug_event, trace_event};
