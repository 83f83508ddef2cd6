use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Let the other ready tasks (and the ring) run before this task goes on.
///
/// The task is queued again at once, behind the tasks already runnable.
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
