//! corio with the crates users already run — tokio-util's codecs, axum,
//! tokio-rustls — proven by the tests and examples of this crate. It has
//! no API of its own.
