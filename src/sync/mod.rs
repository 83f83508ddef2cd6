//! Synchronisation between tasks, threads and cores: [`oneshot`] (a future
//! completed by hand) and [`mpsc`] (a stream of values).

pub mod mpsc;
pub mod oneshot;
