export { PortalController } from './portal.controller';
export { PORTAL_CLOCK, type PortalClock } from './portal-access';
export { PortalProfileController } from './profile.controller';
