// A KernelQueue's list of waiting traps, for the kernel files that block
// and wake tasks on one (traps.ts, wait_then.ts): the field is private to
// KernelQueue, whose class in traps.ts fills in the accessor as it loads.

import type { TrapList } from "./_task_core.ts";

/** Reaches the TrapList of a KernelQueue (set by kernel/traps.ts). */
export const kernelQueueList: { of: (queue: object) => TrapList } = {
  of: () => {
    throw new Error("Cannot reach a KernelQueue's waiters: kernel/traps.ts is not loaded");
  },
};
