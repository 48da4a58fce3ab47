import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The web UI is built into dist/ui by `npm run build` (so by `npm install`) and served by
// `stint server` / `stint dev` under /ui/. Everything is bundled: the UI needs no internet.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    // `npx vite --config ui/vite.config.ts` for UI work: the API comes from a `stint dev` on 7070.
    proxy: { '/api': 'http://127.0.0.1:7070' },
  },
});
