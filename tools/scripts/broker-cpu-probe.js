// RabbitMQ's CPU per message alone (docs/benchmarks.md, issue 8, item 5: the broker's CPU per message): the CPU of the
// broker's beam.smp (from /proc, pid in $PROBE_PID_FILE, default /tmp/rmqprobe/pid: tools/scripts/rabbitmq-private-node.sh)
// over N messages shaped as the ingest bench's: published on a confirm channel with up to 2,000 in flight to a durable
// topic exchange and queue (the topology's dead-letter arguments), consumed with manual acks. Prints one JSON line.
//   node tools/scripts/broker-cpu-probe.js n=6000 body=1400 companion=1 ackEvery=100 prefetch=300 'qargs={"x-single-active-consumer":true}'
// n: messages; body: body bytes; companion=1: a second publish per message that no queue binds (settlement's own event
// in the bench); ackEvery: 1 = one ack each, k = ack(multiple) every k; prefetch; persistent=0; headers=0 (none) or
// trim=1 (without checkpoint and correlationId); cork=1: the publisher's writes of a turn in one socket write;
// qargs: more queue arguments (`{"x-queue-type":"quorum"}`, `{"x-queue-version":2}`); consume=0: publish only;
// backlog=1: consume only after all are published (a consumer behind, as settlement's in the bench).
const fs = require('node:fs');
const crypto = require('node:crypto');
const amqp = require('amqplib');

const args = Object.fromEntries(process.argv.slice(2).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
const N = Number(args.n ?? 5000);
const url = process.env.PROBE_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5673/';
const pid = fs.readFileSync(process.env.PROBE_PID_FILE ?? '/tmp/rmqprobe/pid', 'utf8').trim();
const ackEvery = Number(args.ackEvery ?? 1);
const bodySize = Number(args.body ?? 1400);
const EXCHANGE = 'probe.events';
const QUEUE = 'probe.metered-data';
const ROUTED = 'datahub.validated-measure-data-received';

function beamCpuSeconds() {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function headersOf(i) {
  if (args.headers === '0') return undefined;
  const headers = { streamId: `metered-data-57131318049${String(i).padStart(6, '0')}`, streamRevision: String(i), globalPosition: String(100000 + i), causationId: crypto.randomUUID(), schemaVersion: 2, context: 'datahub' };
  return args.trim === '1' ? headers : { ...headers, checkpoint: `1:${100000 + i}`, correlationId: crypto.randomUUID() };
}

async function main() {
  const connection = await amqp.connect(url);
  if (args.cork === '1') {
    const stream = connection.connection.stream;
    const write = stream.write;
    let corked = false;
    stream.write = function writeInTurn(...rest) {
      if (!corked) {
        corked = true;
        stream.cork();
        process.nextTick(() => {
          corked = false;
          stream.uncork();
        });
      }
      return write.apply(this, rest);
    };
  }
  const publisher = await connection.createConfirmChannel();
  await publisher.assertExchange(EXCHANGE, 'topic', { durable: true });
  await publisher.assertQueue(QUEUE, { durable: true, arguments: { 'x-dead-letter-exchange': `${EXCHANGE}.dlx`, 'x-dead-letter-routing-key': QUEUE, ...JSON.parse(args.qargs ?? '{}') } });
  await publisher.bindQueue(QUEUE, EXCHANGE, ROUTED);
  const body = Buffer.from(JSON.stringify({ wh: 'x'.repeat(Math.max(0, bodySize - 10)) }));
  const consumer = await connection.createConfirmChannel();
  await consumer.prefetch(Number(args.prefetch ?? 300));
  let received = 0;
  let pending = null;
  let unacked = 0;
  let allReceived = () => undefined;
  const done = new Promise((resolve) => (allReceived = resolve));
  const startConsuming = () =>
    consumer.consume(QUEUE, (message) => {
      if (message === null) return;
      received++;
      unacked++;
      pending = message;
      if (unacked >= ackEvery || received === N) {
        consumer.ack(message, ackEvery > 1);
        unacked = 0;
        pending = null;
      }
      if (received === N) allReceived();
    });
  if (args.consume !== '0' && args.backlog !== '1') await startConsuming();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const cpuBefore = beamCpuSeconds();
  const started = process.hrtime.bigint();
  let inFlight = 0;
  let waiting = [];
  const confirmed = (error) => {
    if (error) throw error;
    inFlight--;
    const resume = waiting;
    waiting = [];
    for (const resolve of resume) resolve();
  };
  const publish = async (routingKey, i) => {
    while (inFlight >= 2000) await new Promise((resolve) => waiting.push(resolve));
    inFlight++;
    const options = { persistent: args.persistent !== '0', messageId: crypto.randomUUID(), type: 'ValidatedMeasureDataReceived', contentType: 'application/json', contentEncoding: 'utf-8', timestamp: Math.floor(Date.now() / 1000), correlationId: 'probe', appId: 'relay:probe', headers: headersOf(i) };
    if (!publisher.publish(EXCHANGE, routingKey, body, options, confirmed)) await new Promise((resolve) => publisher.once('drain', resolve));
  };
  for (let i = 0; i < N; i++) {
    await publish(ROUTED, i);
    if (args.companion === '1') await publish('settlement.metered-data-received', i);
  }
  await publisher.waitForConfirms();
  if (args.consume !== '0' && args.backlog === '1') await startConsuming();
  if (args.consume !== '0') await done;
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  await new Promise((resolve) => setTimeout(resolve, 200));
  const cpu = beamCpuSeconds() - cpuBefore;
  if (pending) consumer.ack(pending, true);
  console.log(JSON.stringify({ label: args.label ?? '', n: N, wallMs: Math.round(wallMs), beamCpuS: Number(cpu.toFixed(2)), usPerMessage: Math.round((cpu * 1e6) / N) }));
  await publisher.deleteQueue(QUEUE);
  await connection.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
