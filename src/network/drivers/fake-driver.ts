import type { DataplaneDriver, HostDataplane } from './driver.js';

/**
 * A FAKE dataplane driver for API and functional tests: it changes nothing on the host, it only
 * records the states it was asked to apply (the last one, and how many applies there were).
 */
export class FakeDataplaneDriver implements DataplaneDriver {
  readonly tapNamespace: string | null = null;
  /** The last applied state (a deep copy), or null before the first apply / after teardown. */
  last: HostDataplane | null = null;
  applies = 0;
  tornDown = false;

  async apply(desired: HostDataplane): Promise<void> {
    this.last = structuredClone(desired);
    this.applies++;
    this.tornDown = false;
  }

  async teardown(): Promise<void> {
    this.last = null;
    this.tornDown = true;
  }
}

export function createFakeDataplaneDriver(): FakeDataplaneDriver {
  return new FakeDataplaneDriver();
}
