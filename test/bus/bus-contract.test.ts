// One contract, two transports: the in-process bus always, RabbitMQ when a broker answers.
import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { connect } from 'amqplib';
import { after, afterEach, describe, it } from 'node:test';
import { HttpError } from '../../src/core/errors.js';
import {
  type Bus, type BusContext, type BusLogger, type ReceivedNotification,
  BusClosedError, BusError, BusRemoteError, BusTimeoutError, createBus,
} from '../../src/core/bus/index.js';

interface LogLine { level: string; obj: object; msg?: string }
type Opener = (log: LogLine[]) => Promise<Bus>;

/** Keeps what a bus logs, so tests can check that lost casts are reported and the output stays quiet. */
function recordingLogger(lines: LogLine[]): BusLogger {
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Long enough for a duplicate or stray delivery to show up after the expected ones. */
const QUIET_MS = 150;

async function eventually(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const runId = randomUUID().slice(0, 8);

class InstanceNotFound extends Error {
  override name = 'InstanceNotFound';
}

function busContract(name: string, open: Opener, opts: { skip?: string; cleanup?: () => Promise<void> } = {}): void {
  describe(name, { skip: opts.skip }, () => {
    const opened: Bus[] = [];
    /** Every test's buses are closed after it, pass or fail, so the process can exit. */
    const bus = async (log: LogLine[] = []): Promise<Bus> => {
      const b = await open(log);
      opened.push(b);
      return b;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((b) => b.close()));
    });
    if (opts.cleanup) after(opts.cleanup);

    it('call returns the value the handler returns', async () => {
      const [server, client] = [await bus(), await bus()];
      const topic = unique('calc');
      await server.serve({ topic }, { add: ({ a, b }) => (a as number) + (b as number), later: async () => 'done' });
      assert.equal(await client.call<number>({ topic }, 'add', { a: 2, b: 3 }), 5);
      assert.equal(await client.call<string>({ topic }, 'later', {}), 'done');
      assert.equal(await server.call<number>({ topic }, 'add', { a: 1, b: 1 }), 2, 'a bus calls its own servers too');
    });

    it('call to an unknown method rejects with BusRemoteError', async () => {
      const [server, client] = [await bus(), await bus()];
      const topic = unique('unknown');
      await server.serve({ topic }, { known: () => 1 });
      for (const method of ['nope', 'toString', 'constructor']) {
        await assert.rejects(client.call({ topic }, method, {}), (err: unknown) => {
          assert.ok(err instanceof BusRemoteError, `${method}: ${String(err)}`);
          assert.equal(err.remoteName, 'NoSuchMethod');
          assert.match(err.message, new RegExp(method));
          return true;
        });
      }
    });

    it("a handler's error reaches the caller with its name, message and fields", async () => {
      const [server, client] = [await bus(), await bus()];
      const topic = unique('errors');
      await server.serve({ topic }, {
        missing: ({ id }) => {
          throw new InstanceNotFound(`Instance ${String(id)} could not be found.`);
        },
        http: async () => {
          throw new HttpError(409, 'Cannot delete while attaching');
        },
        string: () => {
          throw 'plain string'; // eslint-disable-line no-throw-literal
        },
      });
      await assert.rejects(client.call({ topic }, 'missing', { id: 'abc' }), (err: unknown) => {
        assert.ok(err instanceof BusRemoteError);
        assert.ok(err instanceof BusError);
        assert.equal(err.name, 'BusRemoteError');
        assert.equal(err.remoteName, 'InstanceNotFound');
        assert.equal(err.message, 'Instance abc could not be found.');
        return true;
      });
      await assert.rejects(client.call({ topic }, 'http', {}), (err: unknown) => {
        assert.ok(err instanceof BusRemoteError);
        assert.equal(err.remoteName, 'HttpError');
        assert.equal(err.message, 'Cannot delete while attaching');
        assert.equal(err.remoteData.status, 409);
        assert.equal(err.remoteData.title, 'Conflict');
        return true;
      });
      await assert.rejects(client.call({ topic }, 'string', {}), { name: 'BusRemoteError', remoteName: 'Error', message: 'plain string' });
    });

    it('call times out with BusTimeoutError within the time set', async () => {
      const [server, client] = [await bus(), await bus()];
      const topic = unique('slow');
      await server.serve({ topic }, { hang: () => new Promise(() => {}) });
      const started = Date.now();
      await assert.rejects(client.call({ topic }, 'hang', {}, { timeoutMs: 300 }), BusTimeoutError);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 290 && elapsed < 1500, `timed out after ${elapsed} ms`);
    });

    it('call with no server listening rejects promptly, not at its timeout', async () => {
      const client = await bus();
      const started = Date.now();
      await assert.rejects(client.call({ topic: unique('nobody') }, 'ping', {}, { timeoutMs: 10_000 }), (err: unknown) => {
        assert.ok(err instanceof BusError && !(err instanceof BusTimeoutError), String(err));
        assert.match(err.message, /No server is listening/);
        return true;
      });
      assert.ok(Date.now() - started < 2000);
    });

    it('cast is delivered exactly once, to one of two servers', async () => {
      const [a, b, client] = [await bus(), await bus(), await bus()];
      const topic = unique('cast-once');
      const got: string[] = [];
      await a.serve({ topic }, { hit: ({ n }) => void got.push(`a${String(n)}`) });
      await b.serve({ topic }, { hit: ({ n }) => void got.push(`b${String(n)}`) });
      await client.cast({ topic }, 'hit', { n: 1 });
      await eventually(() => got.length === 1, 'the cast');
      await sleep(QUIET_MS);
      assert.equal(got.length, 1, `delivered ${got.join(', ')}`);
    });

    it('delivery is asynchronous: a handler never runs inside the sender', async () => {
      const b = await bus();
      const topic = unique('async');
      let ran = 0;
      await b.serve({ topic }, { hit: () => void ran++ });
      const sent = b.cast({ topic }, 'hit', {});
      assert.equal(ran, 0);
      await sent;
      assert.equal(ran, 0, 'not even before the cast resolves');
      await eventually(() => ran === 1, 'the cast');
    });

    it('casts are balanced across the servers of a topic', async () => {
      const [a, b, client] = [await bus(), await bus(), await bus()];
      const topic = unique('balance');
      const count = { a: 0, b: 0 };
      await a.serve({ topic }, { hit: () => void count.a++ });
      await b.serve({ topic }, { hit: () => void count.b++ });
      const n = 20;
      for (let i = 0; i < n; i++) await client.cast({ topic }, 'hit', { i });
      await eventually(() => count.a + count.b === n, `${n} casts`);
      await sleep(QUIET_MS);
      assert.equal(count.a + count.b, n);
      assert.ok(count.a >= 5 && count.b >= 5, `a got ${count.a}, b got ${count.b}`);
    });

    it('a server-directed call reaches only that server', async () => {
      const [hosts, other, client] = [await bus(), await bus(), await bus()];
      const topic = unique('compute');
      const got: string[] = [];
      const handlers = (host: string) => ({ whoami: () => (got.push(host), host) });
      await hosts.serve({ topic, server: 'host-a' }, handlers('host-a'));
      await other.serve({ topic, server: 'host-b' }, handlers('host-b'));
      for (let i = 0; i < 6; i++) assert.equal(await client.call({ topic, server: 'host-b' }, 'whoami', {}), 'host-b');
      await client.cast({ topic, server: 'host-a' }, 'whoami', {});
      await eventually(() => got.length === 7, 'the cast to host-a');
      assert.deepEqual(got, [...Array<string>(6).fill('host-b'), 'host-a']);
      // The shared topic still reaches either of them.
      assert.match(await client.call<string>({ topic }, 'whoami', {}), /^host-[ab]$/);
      await assert.rejects(client.call({ topic, server: 'host-c' }, 'whoami', {}, { timeoutMs: 3000 }), /No server is listening/);
    });

    it('fanout reaches every server of the topic, once, and no other topic', async () => {
      const [s1, s2, client] = [await bus(), await bus(), await bus()];
      const topic = unique('fan');
      const got: string[] = [];
      const record = (who: string) => ({ refresh: ({ v }: Record<string, unknown>) => void got.push(`${who}:${String(v)}`) });
      await s1.serve({ topic, server: 'host-a' }, record('a'));
      await s1.serve({ topic, server: 'host-b' }, record('b'));
      await s2.serve({ topic }, record('c'));
      await s2.serve({ topic: unique('fan-other') }, record('other'));
      await client.fanout(topic, 'refresh', { v: 1 });
      await eventually(() => got.length === 3, 'three deliveries');
      await sleep(QUIET_MS);
      assert.deepEqual([...got].sort(), ['a:1', 'b:1', 'c:1']);
    });

    it('notifications reach every matching subscriber and no other', async () => {
      const [publisher, s1, s2] = [await bus(), await bus(), await bus()];
      const p = unique('n').replace('-', ''); // a word of its own, so no other test's notification matches
      const got = new Map<string, ReceivedNotification[]>();
      const subscribe = async (b: Bus, label: string, pattern: string) => {
        got.set(label, []);
        await b.subscribeNotifications(pattern, (n) => void got.get(label)?.push(n));
      };
      const matching = ['exact', 'exact-again', 'star', 'hash', 'everything'];
      await subscribe(s1, 'exact', `${p}.compute.instance.create.end`);
      await subscribe(s2, 'exact-again', `${p}.compute.instance.create.end`);
      await subscribe(s1, 'star', `${p}.compute.instance.*.end`);
      await subscribe(s2, 'hash', `${p}.compute.#`);
      await subscribe(s2, 'everything', `${p}.#`);
      await subscribe(s1, 'network', `${p}.network.#`);
      await subscribe(s1, 'three-words', `${p}.compute.instance.*`);
      await subscribe(s2, 'delete', `${p}.compute.instance.delete.end`);
      await subscribe(s2, 'longer', `${p}.compute.instance.create.end.more`);

      const payload = { instance_id: 'c0ffee', flavor: { vcpus: 1, name: 'm1.tiny' }, display_name: 'vm ☁️' };
      const before = Date.now();
      await publisher.notify({ eventType: `${p}.compute.instance.create.end`, payload, publisherId: 'compute.host-a' });
      await eventually(() => matching.every((l) => got.get(l)?.length === 1), 'each matching subscriber');
      await sleep(QUIET_MS);
      for (const [label, list] of got) assert.equal(list.length, matching.includes(label) ? 1 : 0, label);
      const n = got.get('exact')?.[0];
      assert.ok(n);
      assert.deepEqual(n.payload, payload);
      assert.equal(n.eventType, `${p}.compute.instance.create.end`);
      assert.equal(n.publisherId, 'compute.host-a');
      assert.equal(n.priority, 'INFO');
      assert.equal(typeof n.messageId, 'string');
      assert.ok(Date.parse(n.timestamp) >= before - 1000);
      assert.equal(got.get('exact-again')?.[0]?.messageId, n.messageId, 'one notification, several copies');

      await publisher.notify({ eventType: `${p}.compute.instance.delete.end`, payload: {}, publisherId: 'x', priority: 'ERROR' });
      await eventually(() => got.get('delete')?.length === 1 && got.get('everything')?.length === 2, 'the delete event');
      await sleep(QUIET_MS);
      assert.deepEqual(
        [...got].map(([label, list]) => `${label}=${list.length}`),
        ['exact=1', 'exact-again=1', 'star=2', 'hash=2', 'everything=2', 'network=0', 'three-words=0', 'delete=1', 'longer=0'],
      );
      assert.equal(got.get('delete')?.[0]?.priority, 'ERROR');
    });

    it('close() rejects pending calls and stops delivery', async () => {
      const [server, client, later] = [await bus(), await bus(), await bus()];
      const topic = unique('closing');
      let started = 0;
      let pings = 0;
      await server.serve({ topic }, { hang: () => (started++, new Promise(() => {})), ping: () => void pings++ });
      const pending = client.call({ topic }, 'hang', {}, { timeoutMs: 10_000 });
      await eventually(() => started === 1, 'the call to arrive');
      const t0 = Date.now();
      const rejected = assert.rejects(pending, BusClosedError); // handled before close() rejects it
      await client.close();
      await rejected;
      assert.ok(Date.now() - t0 < 1000);
      await client.close(); // twice is fine
      await assert.rejects(client.call({ topic }, 'ping', {}), BusClosedError);
      await assert.rejects(client.cast({ topic }, 'ping', {}), BusClosedError);

      await server.close();
      await later.cast({ topic }, 'ping', {});
      await later.fanout(topic, 'ping', {});
      await sleep(QUIET_MS * 2);
      assert.equal(pings, 0, 'a closed server receives nothing');
    });

    it('closing a subscription stops only that server', async () => {
      const [b, client] = [await bus(), await bus()];
      const topic = unique('unsubscribe');
      const got: string[] = [];
      const first = await b.serve({ topic }, { hit: () => void got.push('first') });
      await b.serve({ topic }, { hit: () => void got.push('second') });
      await first.close();
      for (let i = 0; i < 4; i++) await client.cast({ topic }, 'hit', {});
      await eventually(() => got.length === 4, 'four casts');
      assert.deepEqual(got, ['second', 'second', 'second', 'second']);
    });

    it('args and results round-trip as JSON: nested objects, unicode, nulls', async () => {
      const [server, client] = [await bus(), await bus()];
      const topic = unique('json');
      await server.serve({ topic }, { echo: (args) => ({ got: args }), nothing: () => undefined });
      const args = {
        name: 'héllo wörld — 雲 ☁️ 🌩️ \u0000 "quoted" \\ back',
        nested: { list: [1, 'two', { three: [3, null, true] }], empty: {}, none: null, float: 1.5, negative: -7 },
        big: 'x'.repeat(100_000),
      };
      assert.deepEqual(await client.call({ topic }, 'echo', args), { got: args });
      const when = new Date('2025-01-02T03:04:05.000Z');
      assert.deepEqual(await client.call({ topic }, 'echo', { when, gone: undefined }), { got: { when: when.toISOString() } },
        'as JSON: Dates become strings, undefined members vanish');
      assert.equal(await client.call({ topic }, 'nothing', {}), undefined);
    });

    it('requestId propagates to the handler context', async () => {
      const [server, client] = [await bus(), await bus()];
      const topic = unique('ctx');
      const seen: BusContext[] = [];
      await server.serve({ topic, server: 'host-a' }, { look: (_args, ctx) => (seen.push(ctx), ctx.requestId) });
      assert.equal(await client.call({ topic }, 'look', {}, { requestId: 'req-0001' }), 'req-0001');
      await client.cast({ topic, server: 'host-a' }, 'look', {}, { requestId: 'req-0002' });
      await client.fanout(topic, 'look', {}, { requestId: 'req-0003' });
      const generated = await client.call<string>({ topic }, 'look', {});
      await eventually(() => seen.length === 4, 'four deliveries');
      // The cast and the fanout travel by different queues from the calls, so arrival order is not fixed.
      assert.deepEqual(seen.map((c) => c.requestId).sort(), ['req-0001', 'req-0002', 'req-0003', generated].sort());
      assert.match(generated, /^req-[0-9a-f-]{36}$/);
      assert.deepEqual({ topic: seen[0]?.topic, method: seen[0]?.method }, { topic, method: 'look' });
    });

    it('a cast that fails or finds no server is logged, not lost silently', async () => {
      const [serverLog, clientLog]: LogLine[][] = [[], []];
      const [server, client] = [await bus(serverLog), await bus(clientLog)];
      const topic = unique('logged');
      await server.serve({ topic }, { boom: () => { throw new InstanceNotFound('gone'); } });
      await client.cast({ topic }, 'nope', {});
      await client.cast({ topic }, 'boom', {});
      await client.cast({ topic: unique('nobody') }, 'ping', {});
      const warned = (log: LogLine[], msg: string) => log.filter((l) => l.level === 'warn' && l.msg === msg).length;
      await eventually(() => warned(serverLog, 'cast failed') === 2, 'two failed casts logged by the server');
      await eventually(() => warned(clientLog, 'cast dropped: no server is listening') === 1, 'the dropped cast logged');
    });
  });
}

busContract('InProcessBus', (log) => createBus(`inprocess://contract-${runId}`, { logger: recordingLogger(log) }));

const amqpUrl = process.env.NUBO_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const namespace = `nubo-test-${runId}.`;
// Topic queues outlive their servers by queueExpiresMs, so keep it short here: the broker drops them soon after.
const openAmqp: Opener = (log) =>
  createBus(amqpUrl, { logger: recordingLogger(log), namespace, queueExpiresMs: 10_000, connectTimeoutMs: 3000 });

/** The run's two long-lived exchanges would otherwise stay in the broker until it restarts. */
async function deleteAmqpExchanges(): Promise<void> {
  const conn = await connect(amqpUrl);
  const ch = await conn.createChannel();
  for (const exchange of ['nubo_rpc', 'nubo_notifications']) await ch.deleteExchange(`${namespace}${exchange}`);
  await conn.close();
}

/** Whether the AMQP suite can run: skipped when no broker is there (outside CI), failed when one refuses us. */
async function probeAmqp(): Promise<{ skip?: string; fail?: string }> {
  try {
    await (await openAmqp([])).close();
    return {};
  } catch (err) {
    const cause = err instanceof Error ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
    const reason = `AMQP broker at ${amqpUrl.replace(/\/\/[^@/]*@/, '//')}: ${err instanceof Error ? err.message : String(err)}`;
    const unreachable = UNREACHABLE.test(`${cause?.code ?? ''} ${cause?.message ?? ''}`);
    return unreachable && !process.env.CI ? { skip: `no ${reason}` } : { fail: reason };
  }
}
// amqplib's own connect timeout is a bare Error('connect ETIMEDOUT'), hence matching the message too.
const UNREACHABLE = /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ECONNRESET/;

const probe = await probeAmqp();
if (probe.fail !== undefined) {
  const reason = probe.fail;
  describe('AmqpBus', () => {
    it('connects to the AMQP broker (NUBO_TEST_AMQP_URL; required when CI is set)', () => assert.fail(reason));
  });
} else {
  busContract('AmqpBus', openAmqp, { skip: probe.skip, cleanup: deleteAmqpExchanges });
}
