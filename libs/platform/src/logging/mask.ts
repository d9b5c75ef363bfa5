export { maskPersonalData } from '@dh/logging';
