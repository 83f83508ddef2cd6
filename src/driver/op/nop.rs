use super::{Op, OpCode};
use io_uring::{opcode, squeue};
use std::io;

/// IORING_OP_NOP: a round trip through the ring and nothing else.
pub(crate) struct Nop;

impl Nop {
    pub(crate) fn submit() -> Op<Nop> {
        Op::submit(Nop)
    }
}

// SAFETY: the entry carries no pointers.
unsafe impl OpCode for Nop {
    type Output = io::Result<()>;

    fn entry(&mut self) -> squeue::Entry {
        opcode::Nop::new().build()
    }

    fn complete(self, result: io::Result<u32>, _flags: u32) -> io::Result<()> {
        result.map(drop)
    }
}
