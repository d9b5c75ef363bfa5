export { PortalController } from './portal.controller';
export { PORTAL_CLOCK, PORTAL_POOL, type PortalClock } from './portal-access';
export { PortalProfileController } from './profile.controller';
