// Builds the Sluice Console (Preact) into dist/ui, served by `sluice serve` at /ui/.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  // Vite's cache outside node_modules: a new folder there makes npm think its record of the
  // installed tree (node_modules/.package-lock.json) is stale, and every `npx sluice` would then
  // re-read the whole tree (seconds) and print engine warnings.
  cacheDir: fileURLToPath(new URL('../.sluice/vite', import.meta.url)),
  base: '/ui/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
});
