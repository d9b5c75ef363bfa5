import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsString, MaxLength } from 'class-validator';
import { CurrentPrincipal, RequireScopes, type Principal } from '@dh/auth';
import { ProblemException, type ProblemDetails } from '@dh/platform';
import { WebhookStore, WebhookValidationError, type WebhookDelivery, type WebhookSubscription } from '@dh/webhooks';

export class RegisterWebhookDto {
  @IsString()
  @MaxLength(2048)
  url!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(16)
  @IsString({ each: true })
  event_types!: string[];
}

export interface WebhookView {
  id: string;
  url: string;
  event_types: string[];
  active: boolean;
  created_at: string;
  deactivated_at: string | null;
}

export interface DeliveryView {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
  log: { attempt: number; trigger: string; started_at: string; duration_ms: number; status_code: number | null; error: string | null }[];
}

/**
 * Who owns a subscription. System principals (API keys, OAuth2 clients) own them per consumer
 * (`erp`, `crm`), so rotating a key or moving from an API key to client credentials keeps the
 * subscriptions; any other principal (an admin) per principal id.
 */
export function webhookOwnerOf(principal: Principal): string {
  return principal.consumer !== undefined ? `consumer:${principal.consumer}` : `${principal.kind}:${principal.id}`;
}

function view(s: WebhookSubscription): WebhookView {
  return { id: s.id, url: s.url, event_types: s.eventTypes, active: s.active, created_at: s.createdAt.toISOString(), deactivated_at: s.deactivatedAt?.toISOString() ?? null };
}

function deliveryView(d: WebhookDelivery): DeliveryView {
  return {
    id: d.id,
    webhook_id: d.subscriptionId,
    event_id: d.eventId,
    event_type: d.eventType,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.nextAttemptAt?.toISOString() ?? null,
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    delivered_at: d.deliveredAt?.toISOString() ?? null,
    created_at: d.createdAt.toISOString(),
    log: d.log.map((a) => ({ attempt: a.attempt, trigger: a.trigger, started_at: a.startedAt.toISOString(), duration_ms: a.durationMs, status_code: a.statusCode, error: a.error })),
  };
}

const webhookNotFound = (id: string): ProblemDetails => ({ type: 'webhook-not-found', title: 'Webhook not found', status: 404, detail: `No webhook subscription with id ${id}` });
const deliveryNotFound = (id: string): ProblemDetails => ({ type: 'webhook-delivery-not-found', title: 'Webhook delivery not found', status: 404, detail: `No webhook delivery with id ${id}` });

/** Webhook subscriptions of the calling consumer (scope `webhooks:manage`); nobody sees another's. */
@Controller('api/webhooks')
@RequireScopes('webhooks:manage')
export class WebhooksController {
  constructor(private readonly store: WebhookStore) {}

  /** Registers a subscription; the signing secret is in this response and nowhere else, ever. */
  @Post()
  @HttpCode(201)
  async register(@Body() body: RegisterWebhookDto, @CurrentPrincipal() principal: Principal, @Headers('idempotency-key') idempotencyKey?: string): Promise<WebhookView & { secret: string }> {
    if (idempotencyKey !== undefined) {
      // A replay would have to store and show the secret again.
      throw new ProblemException({ type: 'idempotency-not-supported', title: 'Idempotency-Key is not supported here', status: 400, detail: 'The response carries a secret that is shown once; list your webhooks to see whether the registration happened' });
    }
    try {
      const { subscription, secret } = await this.store.register(webhookOwnerOf(principal), { url: body.url, eventTypes: body.event_types });
      return { ...view(subscription), secret };
    } catch (error) {
      if (error instanceof WebhookValidationError) throw new ProblemException({ type: 'invalid-webhook', title: 'Webhook registration is invalid', status: 400, detail: error.message });
      throw error;
    }
  }

  @Get()
  async list(@CurrentPrincipal() principal: Principal): Promise<{ items: WebhookView[] }> {
    return { items: (await this.store.list(webhookOwnerOf(principal))).map(view) };
  }

  /** Deactivates the subscription: no new deliveries, pending ones are cancelled; the delivery log stays readable. */
  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<void> {
    if (!(await this.store.deactivate(webhookOwnerOf(principal), id))) throw new ProblemException(webhookNotFound(id));
  }

  @Get(':id/deliveries')
  async deliveries(@Param('id') id: string, @CurrentPrincipal() principal: Principal, @Query('limit') limit?: string): Promise<{ items: DeliveryView[] }> {
    const n = limit === undefined ? undefined : Number(limit);
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 500)) {
      throw new ProblemException({ type: 'validation', title: 'Query is invalid', status: 400, detail: 'limit must be an integer from 1 to 500' });
    }
    const items = await this.store.listDeliveries(webhookOwnerOf(principal), id, n === undefined ? {} : { limit: n });
    if (items === null) throw new ProblemException(webhookNotFound(id));
    return { items: items.map(deliveryView) };
  }

  /** Sends the delivery again (same body, same Webhook-Id, fresh signature and retry cycle). */
  @Post('deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  async redeliver(@Param('deliveryId') deliveryId: string, @CurrentPrincipal() principal: Principal): Promise<DeliveryView> {
    const result = await this.store.redeliver(webhookOwnerOf(principal), deliveryId);
    if (result === null) throw new ProblemException(deliveryNotFound(deliveryId));
    if (result === 'inactive') throw new ProblemException({ type: 'webhook-inactive', title: 'Webhook is deleted', status: 409, detail: 'The delivery belongs to a deleted webhook subscription; register a new one' });
    return deliveryView(result);
  }
}
