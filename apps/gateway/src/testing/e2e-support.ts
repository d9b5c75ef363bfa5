import type { Pool } from 'pg';
import { AmqpConnection, CommandClient, silentMessagingLogger } from '@dh/messaging';
import { eventually } from '@dh/testing';

/**
 * Puts a product in the catalogue the way a back office does (a command to the rates service) and
 * waits until the gateway's read model has it: CRM may only sell products in the catalogue.
 */
export async function defineProduct(amqpUrl: string, pool: Pool, productId = 'standard'): Promise<void> {
  const amqp = new AmqpConnection({ url: amqpUrl, logger: silentMessagingLogger });
  await amqp.connect();
  const commands = new CommandClient({ connection: amqp, defaultTimeoutMs: 15_000 });
  try {
    await commands.start();
    await commands.send('rates', 'DefineProduct', { productId, name: 'Standard spot', marginDkkPerKwh: '0.0495', monthlySubscriptionDkk: '29.00', validFrom: '2026-01-01' });
  } finally {
    await commands.close();
    await amqp.close();
  }
  await eventually(async () => expect((await pool.query(`SELECT 1 FROM read_models.portal_products WHERE product_id = $1`, [productId])).rowCount).toBe(1), 20_000, 200);
}
