//! Which runtime is running on this thread: the one whose `block_on` is on
//! the stack. Operations, `spawn`, timers and `metrics` find it here.

use super::core::Core;
use crate::driver::Handle;
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// The running runtime's driver, if any.
pub(crate) fn driver() -> Option<Handle> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(|core| core.driver.clone()))
        .ok()
        .flatten()
}

/// Wake the ring `target` from the ring of the runtime running here, if
/// one runs and can (see `Driver::wake_ring`).
pub(crate) fn wake_ring_from_here(target: &std::sync::Arc<crate::driver::WakeTarget>) -> bool {
    with_core(|core| {
        core.driver
            .try_with(|driver| driver.wake_ring(target))
            .unwrap_or(false)
    })
    .unwrap_or(false)
}

/// Whether the runtime running here is the one `shared` belongs to (not
/// another runtime nested inside one of its tasks).
pub(crate) fn is_running(shared: &std::sync::Arc<super::shared::Shared>) -> bool {
    with_core(|core| std::sync::Arc::ptr_eq(&core.shared, shared)).unwrap_or(false)
}

/// The running runtime's fixed-file table, if any.
pub(crate) fn files() -> Option<Rc<crate::driver::FileTable>> {
    with_core(|core| core.files.clone())
}

/// The registered-buffer table of the runtime running on this thread.
pub(crate) fn buffers() -> Option<Rc<crate::driver::BufferTable>> {
    with_core(|core| core.buffers.clone())
}

/// Run `f` with the running runtime's core, if any, without cloning it.
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| c.borrow().as_deref().map(f))
        .ok()
        .flatten()
}

/// Makes `core` the running runtime until dropped, then restores the
/// previous one — also when a panic unwinds out of `block_on`.
pub(crate) struct Enter {
    previous: Option<Rc<Core>>,
    core: Rc<Core>,
    /// The core's executor is the one `spawn` finds meanwhile.
    _executor: crate::task::executor::Entered,
}

/// Enter `core`. Panics if it is already running on this thread (a nested
/// `block_on` of the same runtime could never make progress on the outer one).
pub(crate) fn enter(core: Rc<Core>) -> Enter {
    if core.running.replace(true) {
        panic!(
            "corio: block_on was called while this runtime is already running on this thread \
             (nested block_on); await the future instead, or spawn it"
        );
    }
    let previous = CURRENT.with(|c| c.replace(Some(core.clone())));
    let _executor = crate::task::executor::enter(core.executor.clone());
    Enter {
        previous,
        core,
        _executor,
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        self.core.running.set(false);
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}
