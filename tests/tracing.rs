//! Feature `tracing`: a span per spawned task (where it was spawned),
//! events for operations and loop turns, runtime start and stop.

#![cfg(feature = "tracing")]

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Every event's message and fields, and every span's name and fields.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl<S: Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut f = Fields(format!("event {}", event.metadata().level()));
        event.record(&mut f);
        self.0.lock().unwrap().push(f.0);
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut f = Fields(format!("span {}", attrs.metadata().name()));
        attrs.record(&mut f);
        self.0.lock().unwrap().push(f.0);
    }
}

#[test]
fn tasks_ops_turns_and_the_runtime_are_traced() {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    let line = tracing::subscriber::with_default(subscriber, || {
        let rt = corio::Runtime::new().unwrap();
        let line = rt.block_on(async {
            let line = line!() + 1;
            let task = corio::spawn(async { corio::nop().await.unwrap() });
            task.await.unwrap();
            // A dropped operation is cancelled.
            let _ =
                corio::time::timeout(Duration::ZERO, corio::time::sleep(Duration::from_secs(1)))
                    .await;
            let listener = corio::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let _ = corio::time::timeout(Duration::from_millis(5), listener.accept()).await;
            line
        });
        drop(rt);
        line
    });
    let log = recorder.0.lock().unwrap().join("\n");
    let has = |needle: &str| log.lines().any(|l| l.contains(needle));
    assert!(has("span task"), "no task span:\n{log}");
    let at = format!("spawned_at=tests/tracing.rs:{line}:");
    assert!(has(&at), "no spawn location {at}:\n{log}");
    assert!(has("message=submit"), "no submit event:\n{log}");
    assert!(has("message=complete"), "no complete event:\n{log}");
    assert!(has("message=cancel"), "no cancel event:\n{log}");
    assert!(has("message=turn"), "no turn event:\n{log}");
    assert!(
        has("event DEBUG message=runtime started"),
        "no start event:\n{log}"
    );
    assert!(
        has("event DEBUG message=runtime stopping"),
        "no stop event:\n{log}"
    );
}
