/**
 * The exclusive device lease: one job at a time on this agent, the others wait in FIFO order.
 */

export interface LeaseWaiter {
  /** Removes the waiter from the queue; its acquire() rejects with `reason`. */
  cancel(reason: Error): boolean;
  /** Resolves with the release function once the device is ours. */
  acquired: Promise<() => void>;
}

interface Entry {
  grant: (release: () => void) => void;
  reject: (e: Error) => void;
}

export class DeviceLease {
  private held = false;
  private readonly queue: Entry[] = [];

  get busy(): boolean {
    return this.held;
  }

  /** Waiters not yet granted. */
  get queued(): number {
    return this.queue.length;
  }

  /** Takes the lease now, or returns undefined when it is held. */
  tryAcquire(): (() => void) | undefined {
    if (this.held) return undefined;
    this.held = true;
    return this.releaser();
  }

  /** Queues for the lease. */
  acquire(): LeaseWaiter {
    let entry!: Entry;
    const acquired = new Promise<() => void>((grant, reject) => {
      entry = { grant, reject };
    });
    if (!this.held) {
      this.held = true;
      entry.grant(this.releaser());
    } else {
      this.queue.push(entry);
    }
    return {
      acquired,
      cancel: (reason: Error): boolean => {
        const i = this.queue.indexOf(entry);
        if (i < 0) return false;
        this.queue.splice(i, 1);
        entry.reject(reason);
        return true;
      },
    };
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.queue.shift();
      if (next) next.grant(this.releaser());
      else this.held = false;
    };
  }
}
