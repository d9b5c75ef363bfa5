// The back office web application: built by `npm run build` into dist/back-office, served by the
// gateway under /back-office/ (same origin as the API, so the staff token goes to no one else).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('./web'),
  base: '/back-office/',
  plugins: [react()],
  logLevel: 'warn',
  build: { outDir: here('../../dist/back-office'), emptyOutDir: true, sourcemap: true },
});
