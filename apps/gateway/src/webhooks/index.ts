export { WebhooksApiModule, type WebhooksApiOptions } from './webhooks-api.module';
export { WebhooksController, webhookOwnerOf, type DeliveryView, type WebhookView } from './webhooks.controller';
