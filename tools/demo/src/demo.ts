import { connect, type ConsumeMessage } from 'amqplib';
import { startStack } from './stack';

export interface DemoOutput {
  line(text: string): void;
}

export interface DemoSummary {
  ok: boolean;
  customersCreated: number;
  eventsSeenOnBus: number;
}

async function json<T>(response: Response): Promise<T> {
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.status} ${response.url}: ${text}`);
  return JSON.parse(text) as T;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const CUSTOMERS = [
  { name: 'Anna Hansen', email: 'anna.hansen@example.dk', phone: '+4520304050', customerType: 'private', cpr: '010190-1234' },
  { name: 'Bo Berg', email: 'bo.berg@example.dk', customerType: 'private', cpr: '2512851234' },
  { name: 'Solcelle ApS', email: 'faktura@solcelle.example.dk', customerType: 'business', cvr: '13585628' },
];

/**
 * The main job on the embedded default. Today it runs the walking skeleton end to end through
 * every process; it grows into the demo month (switch, metered data, settlement, export) as those
 * capabilities land.
 */
export async function runDemo(out: DemoOutput): Promise<DemoSummary> {
  out.line('== starting the stack (embedded default: PostgreSQL event store, RabbitMQ, 7 services) ==');
  const stack = await startStack({ database: process.env.DEMO_DATABASE ?? 'dh_demo', vhost: process.env.DEMO_VHOST ?? 'dh-demo', log: (l) => out.line(`  ${l}`) });
  const bus = await connect(stack.vhost.url);
  const seen: ConsumeMessage[] = [];
  try {
    const channel = await bus.createChannel();
    await channel.assertExchange('domain.events', 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, 'domain.events', '#');
    await channel.consume(queue, (m) => m && seen.push(m), { noAck: true });
    out.line('  an external subscriber is bound to domain.events with "#"');

    out.line('== CRM creates customers through the gateway ==');
    const gateway = stack.url('gateway');
    const ids: string[] = [];
    for (const customer of CUSTOMERS) {
      const created = await json<{ id: string }>(
        await fetch(`${gateway}/api/customers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(customer) }),
      );
      ids.push(created.id);
      out.line(`  POST /api/customers (${customer.customerType}) -> 201 id ${created.id}`);
    }

    out.line('== the read model catches up; the gateway serves the customers ==');
    for (const id of ids) {
      const view = await waitFor(`customer ${id}`, async () => {
        const res = await fetch(`${gateway}/api/customers/${id}`);
        return res.status === 200 ? json<Record<string, unknown>>(res) : undefined;
      });
      out.line(`  GET /api/customers/${id} -> ${JSON.stringify({ name: view.name, customerType: view.customerType, cpr: view.cpr, cvr: view.cvr, status: view.status })}`);
    }

    out.line('== events on the bus (what ERP/CRM subscribers receive) ==');
    await waitFor('events on the bus', async () => (seen.length >= CUSTOMERS.length ? true : undefined));
    for (const message of seen) {
      const envelope = JSON.parse(message.content.toString()) as { streamId: string; streamRevision: string; globalPosition: string };
      out.line(`  ${message.fields.routingKey.padEnd(28)} ${envelope.streamId} rev ${envelope.streamRevision} pos ${envelope.globalPosition}`);
    }

    out.line('== an invalid request is refused field by field ==');
    const invalid = await fetch(`${gateway}/api/customers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'X', email: 'nope', customerType: 'private', cpr: '999999-9999' }),
    });
    out.line(`  POST /api/customers -> ${invalid.status} ${invalid.headers.get('content-type')} ${await invalid.text()}`);

    out.line('== health of every service ==');
    for (const [name, service] of stack.services) {
      const res = await fetch(`${service.url}/health/ready`);
      const body = (await res.json()) as { checks: Record<string, { status: string }> };
      out.line(`  ${name.padEnd(20)} ${res.status} ${Object.entries(body.checks).map(([k, v]) => `${k}:${v.status}`).join(' ')}`);
    }

    const ok = seen.length === CUSTOMERS.length && invalid.status === 400;
    out.line(`== done: ${ids.length} customers created, ${seen.length} events published, ${ok ? 'all checks passed' : 'SOMETHING WENT WRONG'} ==`);
    out.line(`   (database ${stack.database.name} is kept for inspection; the next run replaces it)`);
    return { ok, customersCreated: ids.length, eventsSeenOnBus: seen.length };
  } finally {
    await bus.close().catch(() => undefined);
    await stack.stop();
  }
}
